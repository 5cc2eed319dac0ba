// Generates N samples per class from the shipped Fashion-MNIST model in TypeScript and writes them as a
// raw float32 file (class-major, (10·N, 3, 32, 32), values in [0, 1]) for tools/train/score_samples.py.
// Usage: node scripts/quality/generate-samples.mjs --backend cpu|lowrank [--per-class 100] [--seed 0] [--verify] --out samples.f32
// Prints a JSON summary on stdout: timing and, for lowrank, how many attention calls were certified
// and the largest certified error. --verify recomputes every certified call exactly (float64, on the
// same keys and values) and counts the calls whose measured error exceeds their certificate.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '@nextscale/engine-wasm/register'; // loadVAR computes on the WebAssembly engine, as the CLI does
import { backend as cpu } from '@nextscale/backend-cpu';
import { backend as lowrank } from '@nextscale/backend-lowrank';
import { Tensor, createRegistry, explicitPolicy, loadVAR } from '@nextscale/core';
import { KVCache, referenceAttention } from '@nextscale/core/attention';
import { openWeights } from '@nextscale/core/weights';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const backendId = arg('--backend', 'cpu');
const perClass = Number(arg('--per-class', 100));
const seed = Number(arg('--seed', 0));
const out = arg('--out', `samples-${backendId}.f32`);
const assets = fileURLToPath(new URL('../../packages/cli/assets/fashion-mnist/', import.meta.url));

const verify = process.argv.includes('--verify');
const checked = { calls: 0, violations: 0, worstRatio: 0 };

/** The cached keys or values as a packed (B, H, L, d) tensor. */
function packed(cache, which) {
  const { batch, heads, headDim: d } = cache.options;
  const out = new Tensor([batch, heads, cache.length, d]);
  for (let bh = 0; bh < batch * heads; bh++)
    out.data.set(cache[which].subarray(bh * cache.stride, bh * cache.stride + cache.length * d), bh * cache.length * d);
  return out;
}

/** Wraps a backend so every certified state call is checked against exact attention on the same inputs. */
function verifying(descriptor) {
  return {
    ...descriptor,
    async create(options) {
      const inst = await descriptor.create(options);
      return {
        backendId: inst.backendId,
        attend: (q, k, v, spec) => inst.attend(q, k, v, spec),
        dispose: () => inst.dispose(),
        createState(o) {
          const state = inst.createState(o);
          const cache = new KVCache(o);
          return {
            get length() {
              return state.length;
            },
            async append(k, v) {
              cache.append(k, v);
              return state.append(k, v);
            },
            async attend(q) {
              const r = await state.attend(q);
              if (r.certificate) {
                const exact = referenceAttention(q, packed(cache, 'keys'), packed(cache, 'values'), o.scale);
                let err = 0;
                for (let i = 0; i < exact.length; i++) err = Math.max(err, Math.abs(exact[i] - r.output.data[i]));
                checked.calls++;
                checked.worstRatio = Math.max(checked.worstRatio, err / r.certificate.errBoundMax);
                if (err > r.certificate.errBoundMax) checked.violations++;
              }
              return r;
            },
            dispose: () => state.dispose(),
          };
        },
      };
    },
  };
}

const registry = createRegistry();
registry.register(cpu);
registry.register(verify ? verifying(lowrank) : lowrank);
const model = await loadVAR({
  var: `${assets}var.safetensors`,
  vae: `${assets}vae.safetensors`,
  registry,
  policy: explicitPolicy(backendId),
});
// The model's own default sampling settings, as `nextscale generate` uses them.
const reader = await openWeights(`${assets}var.safetensors`);
const m = reader.metadata;
await reader.close();
const settings = {
  cfg: Number(m.default_cfg),
  topK: Number(m.default_top_k),
  topP: Number(m.default_top_p),
  moreSmooth: m.default_more_smooth === 'true',
};
const chunks = [];
let certified = 0;
let exactCalls = 0;
let maxBound = 0;
let guards = 0;
const t0 = performance.now();
for (let c = 0; c < model.config.numClasses; c++) {
  // One seed per class, the same for every backend, so the runs differ only in attention.
  const { images, trace } = await model.generate({ labels: new Array(perClass).fill(c), ...settings, seed: seed + c });
  chunks.push(images.data);
  for (const e of trace.entries) {
    if (e.scale === undefined) continue;
    if (e.certificate) {
      certified++;
      maxBound = Math.max(maxBound, e.certificate.errBoundMax);
      if (e.certificate.guardTripped) guards++;
    } else if (e.exactReason) exactCalls++;
  }
}
const seconds = (performance.now() - t0) / 1000;
const all = new Float32Array(chunks.reduce((s, a) => s + a.length, 0));
let off = 0;
for (const a of chunks) all.set(a, (off += a.length) - a.length);
writeFileSync(out, Buffer.from(all.buffer));
await model.dispose();
console.log(
  JSON.stringify({
    backend: backendId,
    perClass,
    seed,
    settings,
    seconds: +seconds.toFixed(1),
    file: out,
    shape: [all.length / (3 * 32 * 32), 3, 32, 32],
    certifiedCalls: certified,
    exactCallsByLowrank: exactCalls,
    maxCertifiedError: maxBound,
    guardsTripped: guards,
    ...(verify ? { verified: checked } : {}),
  }),
);
