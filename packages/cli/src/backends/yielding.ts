/**
 * Keeps Ctrl-C responsive during a long generation. Signal handlers only run when the event loop gets
 * a turn, and a CPU-bound pipeline whose awaits all resolve at once never gives it one, so SIGINT would
 * wait for the whole generation. Each attention call (every block of every scale, and the VQ-VAE's
 * attention layers) first yields one macrotask turn; the abort set by the handler is then seen by the
 * pipeline's next AbortSignal check. The cost is a few microseconds per call.
 */
import { createRegistry, type AttentionBackend, type AttentionInstance, type AttentionState, type Registry } from '@nextscale/core';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function yieldingState(state: AttentionState): AttentionState {
  return {
    get length() {
      return state.length;
    },
    async append(k, v) {
      await turn();
      return state.append(k, v);
    },
    async attend(q) {
      await turn();
      return state.attend(q);
    },
    dispose: () => state.dispose(),
  };
}

function yieldingInstance(inst: AttentionInstance): AttentionInstance {
  return {
    backendId: inst.backendId,
    async attend(q, k, v, spec) {
      await turn();
      return inst.attend(q, k, v, spec);
    },
    createState: (options) => yieldingState(inst.createState(options)),
    dispose: () => inst.dispose(),
  };
}

export function yieldingBackend(b: AttentionBackend): AttentionBackend {
  return { ...b, probe: () => b.probe(), create: async (options) => yieldingInstance(await b.create(options)) };
}

/** A registry holding the same backends, each yielding to the event loop before every call. */
export function yieldingRegistry(registry: Registry): Registry {
  const out = createRegistry();
  for (const b of registry.list()) out.register(yieldingBackend(b));
  return out;
}
