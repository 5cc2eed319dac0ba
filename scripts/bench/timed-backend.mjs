// An attention backend descriptor whose instances time their calls: `onTime(seconds, call)` after each one-shot
// `attend` ('attend', e.g. the VQ-VAE decoder's attention) and each KV-state `append` / `attend` ('state', the
// transformer's KV-cached attention). Shared by the d16 benchmarks (generation, engines-vs-torch, compare-trees),
// which register it in a private registry and add the seconds to their own clocks.
export function timedBackend(descriptor, onTime) {
  const timed = async (call, f) => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      onTime((performance.now() - t0) / 1000, call);
    }
  };
  return {
    ...descriptor,
    probe: () => descriptor.probe(),
    async create(options) {
      const inner = await descriptor.create(options);
      return {
        backendId: inner.backendId,
        attend: (q, k, v, spec) => timed('attend', () => inner.attend(q, k, v, spec)),
        createState(o) {
          const s = inner.createState(o);
          return {
            get length() {
              return s.length;
            },
            append: (k, v) => timed('state', () => s.append(k, v)),
            attend: (q) => timed('state', () => s.attend(q)),
            dispose: () => s.dispose(),
          };
        },
        dispose: () => inner.dispose(),
      };
    },
  };
}
