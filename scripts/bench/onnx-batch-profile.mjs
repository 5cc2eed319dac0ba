// Why a batch costs more per image than one image on the onnx engine: one d16 generation (random weights) at each
// --batches size in ONE process, each engine call timed by op and row count, plus the transformer's wall clock and
// the attention backend's time. Prints per op: ms per row at each batch (a superlinear op has a growing ms/row).
// Usage: pnpm build && nice node scripts/bench/onnx-batch-profile.mjs [--batches 1,8] [--top 20]
import os from 'node:os';
import * as core0 from '@nextscale/core';
import * as models from '@nextscale/core/models';
import * as attention from '@nextscale/core/attention';

const core = { ...core0, ...models, ...attention };
import { backend as cpuBackend } from '@nextscale/backend-cpu';
import { engine as onnx } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const batches = arg('--batches', '1,8').split(',').map(Number);
const top = Number(arg('--top', 20));
const e = await onnx.create({});
let stats = new Map();
const add = (k, ms, rows) => {
  const s = stats.get(k) ?? { ms: 0, n: 0, rows: 0 };
  s.ms += ms;
  s.n++;
  s.rows += rows;
  stats.set(k, s);
};
const wrap = (name, label, rowsOf) => {
  if (typeof e[name] !== 'function') return;
  const f = e[name].bind(e);
  // the engine's calls are async: time until each settles
  e[name] = async (...a) => {
    const t0 = performance.now();
    try {
      return await f(...a);
    } finally {
      add(`${name} ${label(...a)}`, performance.now() - t0, rowsOf(...a));
    }
  };
};
wrap(
  'linear',
  (x, rows, inF, w, outF) => `${inF}→${outF}`,
  (x, rows) => rows,
);
wrap(
  'feedForward',
  (x, rows, inF, w1, b1, hidden) => `${inF}→${hidden}→${inF}`,
  (x, rows) => rows,
);
wrap(
  'layerNormRows',
  (x, o, rows, cols) => `${cols}`,
  (x, o, rows) => rows,
);
wrap(
  'geluTanh',
  () => '',
  (x, o, n) => n,
);
wrap(
  'silu',
  () => '',
  (x, o, n) => n,
);
wrap(
  'gemmNT',
  () => '',
  (m) => m,
);
wrap(
  'conv2d',
  (a) => `${a.inChannels}→${a.outChannels} ${a.height}²`,
  (a) => a.batch,
);
wrap(
  'featureNet',
  (net) => net.label,
  (net, x, s) => s[0],
);
wrap(
  'transformerBlock',
  (a) => `T=${a.tokens}`,
  (a) => a.batch * a.tokens,
);

const registry = core.createRegistry();
let attnMs = 0;
const timedAsync =
  (f) =>
  async (...a) => {
    const t0 = performance.now();
    try {
      return await f(...a);
    } finally {
      attnMs += performance.now() - t0;
    }
  };
registry.register({
  ...cpuBackend,
  probe: () => cpuBackend.probe(),
  async create(o) {
    const inner = await cpuBackend.create(o);
    return {
      backendId: inner.backendId,
      attend: (q, k, v, spec) => inner.attend(q, k, v, spec),
      createState(so) {
        const s = inner.createState(so);
        return {
          get length() {
            return s.length;
          },
          append: timedAsync((k, v) => s.append(k, v)),
          attend: timedAsync((q) => s.attend(q)),
          dispose: () => s.dispose(),
        };
      },
      dispose: () => inner.dispose(),
    };
  },
});
const spec = core.releasedVARSpec(16);
const model = await core.VARModel.fromStateDicts(
  { tensors: core.randomVARStateDict(spec) },
  { tensors: core.randomVQVAEStateDict(core.releasedVQVAEConfig()) },
  { policy: core.priorityPolicy(), engine: e, registry },
);
async function gen(B, seed) {
  stats = new Map();
  attnMs = 0;
  let tDec = 0;
  const t0 = performance.now();
  await model.generate({
    labels: Array.from({ length: B }, (_, i) => (207 + i) % 1000),
    cfg: 1.5,
    topK: 900,
    topP: 0.95,
    seed,
    onProgress: (p) => {
      if (p.stage === 'decode' && !tDec) tDec = performance.now();
    },
  });
  const tEnd = performance.now();
  return { B, transformer: (tDec - t0) / 1000, decode: (tEnd - tDec) / 1000, attention: attnMs / 1000, stats };
}
console.log(
  'load',
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' '),
);
await gen(1, 1); // warm-up: pins the weights
const results = [];
for (const B of batches) {
  const r = await gen(B, 2);
  results.push(r);
  const eng = [...r.stats.values()].reduce((a, s) => a + s.ms, 0) / 1000;
  console.log(
    `B=${B}: transformer ${r.transformer.toFixed(2)} s (attention ${r.attention.toFixed(2)}, engine calls ${eng.toFixed(2)} incl. decode), decode ${r.decode.toFixed(2)} s; load ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
}
const keys = [...new Set(results.flatMap((r) => [...r.stats.keys()]))];
const last = results.at(-1).stats;
keys.sort((a, b) => (last.get(b)?.ms ?? 0) - (last.get(a)?.ms ?? 0));
console.log(`op | ${results.map((r) => `B=${r.B}: s, µs/row`).join(' | ')}`);
for (const k of keys.slice(0, top)) {
  console.log(
    `${k} | ${results
      .map((r) => {
        const s = r.stats.get(k);
        return s ? `${(s.ms / 1000).toFixed(2)} s, ${((s.ms * 1000) / s.rows).toFixed(2)}` : '-';
      })
      .join(' | ')}`,
  );
}
await model.dispose();
process.exit(0);
