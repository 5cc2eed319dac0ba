// The engine's cost per call at VAR-d16's linear shapes: its awaited `linear` (in this thread: pinned-session lookup,
// input tensor, output copy) against calling onnxruntime-node's `session.run` directly on the same graph (the weight
// as an initializer) with the same session options and thread count. Medians over --reps calls after a warm-up. (Up
// to the async seam the engine ran its sessions on a worker thread behind Atomics.wait; this script measured that
// hop then, see engine-onnx's README.)
// Usage: pnpm build && node scripts/bench/onnx-call-overhead.mjs [--reps 30] [--threads N]
import os from 'node:os';
import { createRequire } from 'node:module';
import { Rng } from '@nextscale/core';
import { createOnnxEngine, linearGraph, resolveOrt, sessionOptions } from '@nextscale/engine-onnx';
import { machine, median } from '@nextscale/bench-utils';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const reps = Number(arg('--reps', 30));
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const ort = createRequire(import.meta.url)(resolveOrt());

// rows = 2 × tokens of a scale (classifier-free guidance); 2 is the first scale, 512 the last (16×16)
const SHAPES = [
  { rows: 2, inF: 1024, outF: 1024 },
  { rows: 32, inF: 1024, outF: 1024 },
  { rows: 200, inF: 1024, outF: 4096 },
  { rows: 512, inF: 1024, outF: 4096 },
  { rows: 512, inF: 4096, outF: 1024 },
];

const rng = new Rng(1);
const engine = await createOnnxEngine({ threads, releaseWeights: false });
const settings = { executionProviders: ['cpu'], cpu: { threads, memArena: false, spinning: false, prepack: true } };

async function timeIt(fn) {
  for (let i = 0; i < 3; i++) await fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) * 1000);
  }
  return median(ts);
}

console.log(
  `machine: ${JSON.stringify(machine())}; load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `onnxruntime-node ${ort.env.versions.node}, ${threads} intra-op threads, median of ${reps} calls after 3 warm-ups`,
);
console.log(
  '| linear (rows × in → out) | GFLOP | engine `await linear` µs | raw `await session.run` µs | engine − raw µs | engine GFLOP/s |',
);
console.log('|---|---|---|---|---|---|');
for (const s of SHAPES) {
  const w = rng.normalArray(s.outF * s.inF);
  const b = rng.normalArray(s.outF);
  const x = rng.normalArray(s.rows * s.inF);
  const y = new Float32Array(s.rows * s.outF);
  const viaEngine = await timeIt(() => engine.linear(x, s.rows, s.inF, w, s.outF, b, y));
  const graph = linearGraph(w, s.outF, s.inF, b);
  const session = await ort.InferenceSession.create(
    graph.bytes,
    sessionOptions(settings, { optimization: graph.optimization ?? 'all' }),
  );
  const feed = { x: new ort.Tensor('float32', x, [s.rows, s.inF]) };
  const async_ = await timeIt(async () => {
    const r = await session.run(feed);
    y.set(r.y.data);
  });
  await session.release();
  const gflop = (2 * s.rows * s.inF * s.outF) / 1e9;
  console.log(
    `| ${s.rows} × ${s.inF} → ${s.outF} | ${gflop.toFixed(3)} | ${viaEngine.toFixed(0)} | ${async_.toFixed(0)} | ${(viaEngine - async_).toFixed(0)} | ${(gflop / (viaEngine / 1e6)).toFixed(1)} |`,
  );
}
await engine.dispose();
process.exit(0);
