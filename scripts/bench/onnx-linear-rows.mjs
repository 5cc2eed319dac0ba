// How the onnx engine's linear (d16's head: 1024 → 4096 logits) costs with the rows per call: --rows rows (d16's last
// scale at B=8: 16 CFG rows × 256 tokens = 4096) run as one call, or as calls of each --chunks row count, interleaved
// in ONE process, --reps times; prints the median wall and CPU ms (all threads) per call set and the load average.
// The head's output at B=8 is 64 MiB: above glibc's 32 MiB mmap ceiling, ONNX Runtime's output, onnxruntime-node's
// copy and core's result each map fresh pages. The engine now splits a call itself past LINEAR_CALL_BYTES (engine.ts),
// so a chunk above that runs as the engine's own calls: compare against a tree without it (compare-trees). Usage: pnpm build && nice node scripts/bench/onnx-linear-rows.mjs
//   [--rows 4096] [--in 1024] [--out 4096] [--chunks 256,512,1024,4096] [--reps 5]
import os from 'node:os';
import { engine as onnx } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const rows = Number(arg('--rows', 4096));
const inF = Number(arg('--in', 1024));
const outF = Number(arg('--out', 4096));
const chunks = arg('--chunks', '256,512,1024,4096').split(',').map(Number);
const reps = Number(arg('--reps', 5));
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const weight = rand(outF * inF);
const bias = rand(outF);
const x = rand(rows * inF);
const e = await onnx.create({ threads: os.availableParallelism(), releaseWeights: false });
console.log(`linear ${inF} → ${outF}, ${rows} rows, ${e.name}; load before ${load()}`);
const run = async (chunk) => {
  const y = new Float32Array(rows * outF); // as core allocates the head's logits, once per call
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < rows; r += chunk) {
    const n = Math.min(chunk, rows - r);
    await e.linear(
      x.subarray(r * inF, (r + n) * inF),
      n,
      inF,
      weight,
      outF,
      bias,
      y.subarray(r * outF, (r + n) * outF),
    );
  }
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000, sys: c.system / 1000 };
};
await run(chunks[0]);
const res = Object.fromEntries(chunks.map((c) => [c, []]));
for (let i = 0; i < reps; i++) for (const c of chunks) res[c].push(await run(c));
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const gflop = (2 * rows * inF * outF) / 1e9;
for (const c of chunks) {
  const w = median(res[c].map((r) => r.wall));
  const cpu = median(res[c].map((r) => r.cpu));
  const sys = median(res[c].map((r) => r.sys));
  console.log(
    `${c} rows per call: wall ${w.toFixed(0)} ms (${(gflop / (w / 1000)).toFixed(0)} GFLOP/s), CPU ${cpu.toFixed(0)} ms (sys ${sys.toFixed(0)})`,
  );
}
console.log(`load after ${load()}`);
await e.dispose();
process.exit(0);
