// One d16-shaped transformer block (C 1024, 16 heads, hidden 4096, random weights) as the fused engine call
// (engine-onnx block-runner.ts) over a whole 256-px generation's 10 scales with its KV cache, at CFG batch 2·B for each
// --batches B: wall time per generation-of-one-block (median of --reps), GFLOP/s, and per image.
// Usage: pnpm build && nice node scripts/bench/onnx-block.mjs [--batches 1,8] [--reps 3] [--threads 2]
import os from 'node:os';
import { BlockRunner } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const batches = arg('--batches', '1,8').split(',').map(Number);
const reps = Number(arg('--reps', 3));
const threads = Number(arg('--threads', os.availableParallelism()));
const C = 1024, H = 16, hd = 64, hidden = 4096;
const PN = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const rand = (n, s) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = (Math.random() * 2 - 1) * s; return a; };
const weights = {
  qkvWeight: rand(3 * C * C, 0.03), qkvBias: rand(3 * C, 0.01), qScale: Float32Array.from({ length: H }, () => 10),
  projWeight: rand(C * C, 0.03), projBias: rand(C, 0.01), fc1Weight: rand(hidden * C, 0.03), fc1Bias: rand(hidden, 0.01),
  fc2Weight: rand(C * hidden, 0.015), fc2Bias: rand(C, 0.01),
};
const shape = { width: C, heads: H, headDim: hd, hidden, eps: 1e-6, scale: 1 };
const runner = new BlockRunner({ threads });
let t0 = performance.now();
await runner.prepare(weights, shape);
console.log(`session build ${(performance.now() - t0).toFixed(0)} ms; threads ${threads}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
let base = null;
for (const B of batches) {
  const N = 2 * B;
  const m = rand(N * 6 * C, 0.3);
  const xs = PN.map((pn) => rand(N * pn * pn * C, 1));
  let flops = 0, L = 0;
  for (const pn of PN) { const T = pn * pn; L += T; flops += N * T * (24 * C * C + 4 * L * C); }
  const times = [];
  for (let r = 0; r < reps + 1; r++) {
    const cache = {};
    t0 = performance.now();
    for (let s = 0; s < PN.length; s++) await runner.run({ weights, shape, x: xs[s], batch: N, tokens: PN[s] ** 2, modulation: m, cache });
    if (r > 0) times.push((performance.now() - t0) / 1000); // the first is a warm-up
  }
  const t = median(times);
  base ??= t;
  console.log(`B=${B} (N=${N}): ${(t * 1000).toFixed(0)} ms per block-generation, ${(flops / t / 1e9).toFixed(0)} GFLOP/s, ${((t / B) * 1000).toFixed(0)} ms per image (${(t / B / base).toFixed(2)}× B=1's); 16 blocks ≈ ${(16 * t).toFixed(2)} s; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}
process.exit(0);
