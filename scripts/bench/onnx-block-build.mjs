// Where one fused d16 block session's build time goes: the graph (weights transposed in JavaScript, then the protobuf
// written), ONNX Runtime's create (parse, optimise, prepack) per optimisation level and prepacking, and the first run.
// Usage: pnpm build && nice node scripts/bench/onnx-block-build.mjs [--reps 3] [--engine-dist path/to/engine-onnx/dist/index.js]
//   --engine-dist: another tree's build of the package (a baseline, measured in the same run as this tree's)
import os from 'node:os';
import { pathToFileURL } from 'node:url';

const distArg = process.argv.indexOf('--engine-dist');
const { transformerBlockGraph, sessionOptions, resolveOrt } = await import(
  distArg > 0 ? pathToFileURL(process.argv[distArg + 1]).href : '@nextscale/engine-onnx'
);

const ort = await import(resolveOrt());
const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 3;
const C = 1024,
  H = 16,
  hd = 64,
  hidden = 4096;
const rnd = (n) => Float32Array.from({ length: n }, () => Math.random() * 0.02 - 0.01);
const w = {
  qkvWeight: rnd(3 * C * C),
  qkvBias: rnd(3 * C),
  qScale: rnd(H).map(() => 1),
  projWeight: rnd(C * C),
  projBias: rnd(C),
  fc1Weight: rnd(hidden * C),
  fc1Bias: rnd(hidden),
  fc2Weight: rnd(C * hidden),
  fc2Bias: rnd(C),
};
const shape = { width: C, heads: H, headDim: hd, hidden, eps: 1e-6, scale: 1 };
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
console.log(
  `d16 block (C ${C}, hidden ${hidden}); ${distArg > 0 ? process.argv[distArg + 1] : 'this tree'}; ${reps} reps; load before ${load()}`,
);
const cpu = { threads: 2, memArena: false, spinning: false, prepack: true };
const variants = [
  ['basic, prepack', 'basic', true],
  ['disabled, prepack', 'disabled', true],
  ['basic, no prepack', 'basic', false],
];
const rows = {};
for (let r = 0; r < reps; r++) {
  let t = performance.now();
  const g = transformerBlockGraph(w, shape);
  (rows.graph ??= []).push(performance.now() - t);
  for (const [label, opt, prepack] of variants) {
    const opts = sessionOptions(
      { executionProviders: ['cpu'], cpu: { ...cpu, prepack } },
      { optimization: opt, ...(g.externalData ? { externalData: g.externalData } : {}) },
    );
    t = performance.now();
    const s = await ort.InferenceSession.create(g.bytes, opts);
    (rows[`create ${label}`] ??= []).push(performance.now() - t);
    const N = 2,
      T = 1;
    const feeds = {
      x: new ort.Tensor('float32', rnd(N * T * C), [N, T, C]),
      m: new ort.Tensor('float32', rnd(N * 6 * C), [N, 6 * C]),
      past_key: new ort.Tensor('float32', new Float32Array(0), [N, H, 0, hd]),
      past_value: new ort.Tensor('float32', new Float32Array(0), [N, H, 0, hd]),
      mask: new ort.Tensor('float32', new Float32Array(T * T), [T, T]),
    };
    t = performance.now();
    await s.run(feeds);
    (rows[`first run ${label}`] ??= []).push(performance.now() - t);
    t = performance.now();
    await s.run(feeds);
    (rows[`second run ${label}`] ??= []).push(performance.now() - t);
    await s.release();
  }
}
for (const [k, v] of Object.entries(rows))
  console.log(`${k.padEnd(32)} median ${median(v).toFixed(0)} ms  (${v.map((x) => x.toFixed(0)).join(', ')})`);
console.log(`load after ${load()}`);
