// What one fused block call adds to the resident set at a model's last scale (issue #25: d36 on onnx peaked above
// its memory target because the attention materialised its scores, rows·heads·T·(P+T) floats: 0.33 GB per row at d36).
// Builds one block at the released widths (random weights), fills its cache with the earlier scales' P tokens in one
// call, then runs the last scale's T tokens and prints the peak resident set during that call above the set before it
// (VmHWM, reset through /proc/self/clear_refs), next to the scores' size. Usage: pnpm build &&
//   node scripts/bench/onnx-block-memory.mjs [--depth 36] [--rows 1] [--threads 2]
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { BlockRunner } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const depth = Number(arg('--depth', 36));
const N = Number(arg('--rows', 1));
const threads = Number(arg('--threads', 2));
const ort = createRequire(import.meta.resolve('@nextscale/engine-onnx'))('onnxruntime-node');
// VAR's released widths: C = 64·depth, heads = depth, hidden 4C; d36 is the 512-px release
const C = 64 * depth;
const H = depth;
const hidden = 4 * C;
const patchNums = depth >= 36 ? [1, 2, 3, 4, 6, 9, 13, 18, 24, 32] : [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const T = patchNums.at(-1) ** 2;
const P = patchNums.slice(0, -1).reduce((a, p) => a + p * p, 0);
const rand = (n, s) => Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * s);
const weights = {
  qkvWeight: rand(3 * C * C, 0.02),
  qkvBias: rand(3 * C, 0.02),
  qScale: Float32Array.from({ length: H }, () => 10),
  projWeight: rand(C * C, 0.02),
  projBias: rand(C, 0.02),
  fc1Weight: rand(hidden * C, 0.02),
  fc1Bias: rand(hidden, 0.02),
  fc2Weight: rand(C * hidden, 0.02),
  fc2Bias: rand(C, 0.02),
};
const shape = { width: C, heads: H, headDim: 64, hidden, eps: 1e-6, scale: 1 };
const settings = { executionProviders: ['cpu'], cpu: { threads, memArena: false, spinning: false, prepack: true } };
const runner = new BlockRunner(ort, settings);
const gib = (key) => Number(/\d+/.exec(fs.readFileSync('/proc/self/status', 'utf8').split(key)[1])[0]) / 2 ** 20;
const cache = {};
const call = (tokens) =>
  runner.run({
    weights,
    shape,
    x: rand(N * tokens * C, 1),
    batch: N,
    tokens,
    modulation: rand(N * 6 * C, 0.1),
    cache,
    maxTokens: P + T,
  });
await call(P);
const x = rand(N * T * C, 1); // made before the mark: the call's input is not its working set
fs.writeFileSync('/proc/self/clear_refs', '5');
const before = gib('VmRSS:');
const t0 = performance.now();
await runner.run({ weights, shape, x, batch: N, tokens: T, modulation: rand(N * 6 * C, 0.1), cache, maxTokens: P + T });
const peak = gib('VmHWM:');
console.log(
  `d${depth} block (C ${C}, ${H} heads), ${N} row(s), last scale T ${T} over P ${P}: ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
    `resident ${before.toFixed(2)} GiB before, peak ${peak.toFixed(2)} (+${((peak - before) * 1024).toFixed(0)} MiB); ` +
    `materialised scores would be ${((4 * N * H * T * (P + T)) / 2 ** 20).toFixed(0)} MiB; load ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
);
process.exit(0);
