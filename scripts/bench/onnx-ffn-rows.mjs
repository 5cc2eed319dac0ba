// The d16 FFN (1024 → 4096 → 1024, engine-onnx's feedForwardGraph) as one ONNX Runtime session, at the row counts of
// a last scale with CFG at batch 1 (512 rows) and batch 8 (4096 rows), with ONNX Runtime's CPU memory arena off (the
// engine's default today) and on: µs per row, medians of --reps calls, interleaved so that load changes hit every
// variant alike. A per-row time that grows with the rows is the batch's superlinear cost.
// Usage: pnpm build && nice node scripts/bench/onnx-ffn-rows.mjs [--reps 5] [--threads 2]
import { createRequire } from 'node:module';
import os from 'node:os';
import { feedForwardGraph } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const reps = Number(arg('--reps', 5));
const threads = Number(arg('--threads', os.availableParallelism()));
const req = createRequire(import.meta.url);
const ort = req(req.resolve('onnxruntime-node', { paths: [new URL('../../packages/engine-onnx/', import.meta.url).pathname] }));
const C = 1024, hidden = 4096;
const rand = (n, s) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = (Math.random() * 2 - 1) * s; return a; };
const fc1 = rand(hidden * C, 0.03), fc2 = rand(C * hidden, 0.015), b1 = rand(hidden, 0.01), b2 = rand(C, 0.01);
const variants = {};
for (const arena of [false, true]) {
  const g = feedForwardGraph(fc1, b1, hidden, C, fc2, b2);
  variants[`arena ${arena ? 'on ' : 'off'}`] = await ort.InferenceSession.create(g.bytes, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'basic',
    enableCpuMemArena: arena, enableMemPattern: false, extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
}
const rowsList = [512, 4096];
const inputs = Object.fromEntries(rowsList.map((r) => [r, new ort.Tensor('float32', rand(r * C, 1), [r, C])]));
const times = {};
for (let rep = 0; rep < reps + 1; rep++) {
  for (const [name, s] of Object.entries(variants)) {
    for (const rows of rowsList) {
      const t0 = performance.now();
      await s.run({ x: inputs[rows] });
      if (rep > 0) (times[`${name} ${rows}`] ??= []).push(performance.now() - t0);
    }
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`threads ${threads}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (const [k, t] of Object.entries(times)) {
  const rows = Number(k.split(' ').at(-1));
  const ms = median(t);
  console.log(`${k.padEnd(16)} rows: ${ms.toFixed(0).padStart(5)} ms, ${((ms * 1000) / rows).toFixed(1)} µs/row, ${((rows * 4 * C * hidden) / ms / 1e6).toFixed(0)} GFLOP/s`);
}
process.exit(0);
