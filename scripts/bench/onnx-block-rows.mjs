// How one fused d16 transformer block scales with its rows: the block (random weights, released d16 shapes) at one
// next-scale step (T = pn² query tokens over a KV cache of the earlier scales' P tokens) for each --rows count, run
// interleaved in ONE process (so load changes hit every size alike), --reps times; prints the median ms per CFG row,
// the growth against the first size, GFLOP/s and the load average. --profile writes ONNX Runtime node profiles and
// sums them per op type. Usage: pnpm build && nice node scripts/bench/onnx-block-rows.mjs [--rows 2,16] [--pn 16]
//   [--reps 3] [--threads 2] [--profile] [--chunks 2,4,8,16]
//   --chunks: instead of whole calls, each --rows count runs as calls of each listed row count (interleaved), the block
//     runner's own row split (block-rows.ts) lifted, to see which call size block-rows.ts should pick
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { BlockRunner } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const rowsList = arg('--rows', '2,16').split(',').map(Number);
const pn = Number(arg('--pn', 16));
const reps = Number(arg('--reps', 3));
const threads = Number(arg('--threads', os.availableParallelism()));
const profile = process.argv.includes('--profile');
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
const ort = createRequire(import.meta.resolve('@nextscale/engine-onnx')).call(null, 'onnxruntime-node');

const C = 1024;
const H = 16;
const hd = 64;
const hidden = 4096;
const patchNums = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const T = pn * pn;
const P = patchNums.slice(0, patchNums.indexOf(pn)).reduce((a, p) => a + p * p, 0);
let seed = 1;
const rand = (n, s) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    a[i] = ((seed / 2 ** 32) * 2 - 1) * s;
  }
  return a;
};
const qkvBias = rand(3 * C, 0.02);
qkvBias.fill(0, C, 2 * C);
const weights = {
  qkvWeight: rand(3 * C * C, 0.02),
  qkvBias,
  qScale: Float32Array.from({ length: H }, () => 10),
  projWeight: rand(C * C, 0.02),
  projBias: rand(C, 0.02),
  fc1Weight: rand(hidden * C, 0.02),
  fc1Bias: rand(hidden, 0.02),
  fc2Weight: rand(C * hidden, 0.02),
  fc2Bias: rand(C, 0.02),
};
const shape = { width: C, heads: H, headDim: hd, hidden, eps: 1e-6, scale: 1 };
const settings = { executionProviders: ['cpu'], cpu: { threads, memArena: false, spinning: false, prepack: true } };
const chunkList = arg('--chunks', '').split(',').filter(Boolean).map(Number);
// with --chunks the runner must not split further: its call-size budget is lifted
const runner = new BlockRunner(ort, settings, chunkList.length ? 2 ** 50 : undefined);
const profRunner = profile ? new BlockRunner(ort, settings) : null;

// one call at P cached tokens: a cache prefilled by a call of P tokens, then the timed call of T; with --chunk n the
// N rows run as calls of n rows each (their own caches), as a row-chunked block would
let chunk = Number(arg('--chunk', 0));
async function step(r, N, key = N) {
  const n = chunk > 0 ? Math.min(chunk, N) : N;
  const parts = Array.from({ length: Math.ceil(N / n) }, (_, i) => Math.min(n, N - i * n));
  const caches = parts.map(() => ({}));
  if (P > 0)
    for (const [i, b] of parts.entries())
      await r.run({
        weights,
        shape,
        x: rand(b * P * C, 1),
        batch: b,
        tokens: P,
        modulation: rand(b * 6 * C, 0.1),
        cache: caches[i],
      });
  const x = rand(N * T * C, 1);
  const m = rand(N * 6 * C, 0.1);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let row = 0;
  for (const [i, b] of parts.entries()) {
    await r.run({
      weights,
      shape,
      x: x.subarray(row * T * C, (row + b) * T * C),
      batch: b,
      tokens: T,
      modulation: m.subarray(row * 6 * C, (row + b) * 6 * C),
      cache: caches[i],
    });
    row += b;
  }
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  for (const cache of caches) r.release(cache);
  cpu[key].push({ user: c.user / 1000, sys: c.system / 1000 });
  return ms;
}
const flops = (N) => 2 * N * T * (3 * C * C + C * C + 2 * C * hidden) + 4 * N * T * (P + T) * C;
console.log(`d16 block, pn ${pn} (T ${T}, P ${P}), ${threads} threads; load before ${load()}`);
// sizes: "N" (one call, or --chunk's), or "N/n" (N rows in calls of n, with --chunks)
const sizes = chunkList.length
  ? rowsList.flatMap((N) => chunkList.filter((n) => n <= N).map((n) => `${N}/${n}`))
  : rowsList.map(String);
const rowsOf = (k) => Number.parseInt(k, 10);
const run = (k) => {
  if (chunkList.length) chunk = Number(k.split('/')[1]);
  return step(runner, rowsOf(k), k);
};
const times = Object.fromEntries(sizes.map((k) => [k, []]));
// CPU time of the process (all threads) per call: far less sensitive to other jobs on the machine than the wall clock
const cpu = Object.fromEntries(sizes.map((k) => [k, []]));
await run(sizes[0]);
cpu[sizes[0]].length = 0;
for (let r = 0; r < reps; r++) for (const k of sizes) times[k].push(await run(k));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const base = median(times[sizes[0]]) / rowsOf(sizes[0]);
const cpuBase = median(cpu[sizes[0]].map((c) => c.user + c.sys)) / rowsOf(sizes[0]);
for (const k of new Set(sizes)) {
  const N = rowsOf(k);
  const m = median(times[k]);
  const u = median(cpu[k].map((c) => c.user));
  const sy = median(cpu[k].map((c) => c.sys));
  console.log(
    `N=${k}: wall ${m.toFixed(0)} ms [${times[k].map((t) => t.toFixed(0))}], ${(m / N).toFixed(1)} ms/row (${(m / N / base).toFixed(2)}× N=${sizes[0]}), ${(flops(N) / m / 1e6).toFixed(0)} GFLOP/s; ` +
      `CPU user ${u.toFixed(0)} + sys ${sy.toFixed(0)} ms, ${((u + sy) / N).toFixed(1)} ms/row (${((u + sy) / N / cpuBase).toFixed(2)}×)`,
  );
}
console.log(`load after ${load()}`);
if (profRunner) {
  // a node profile per size (ONNX Runtime's enableProfiling), summed by op type
  for (const N of new Set(rowsList)) {
    const g = (await import('@nextscale/engine-onnx')).transformerBlockGraph(weights, shape);
    const s = await ort.InferenceSession.create(g.bytes, {
      ...(await import('@nextscale/engine-onnx')).sessionOptions(settings, {
        optimization: 'basic',
        ...(g.externalData ? { externalData: g.externalData } : {}),
      }),
      enableProfiling: true,
      profileFilePrefix: `/tmp/blockprof-N${N}`,
    });
    // the block graph's inputs: this step's x and modulation, the prefix's keys/values (N, P, C)
    const feeds = (tokens, past) => ({
      x: new ort.Tensor('float32', rand(N * tokens * C, 1), [N, tokens, C]),
      m: new ort.Tensor('float32', rand(N * 6 * C, 0.1), [N, 6 * C]),
      past_key: new ort.Tensor('float32', past ? rand(N * P * C, 1) : new Float32Array(0), [N, past ? P : 0, C]),
      past_value: new ort.Tensor('float32', past ? rand(N * P * C, 1) : new Float32Array(0), [N, past ? P : 0, C]),
    });
    await s.run(feeds(P, false));
    await s.run(feeds(T, true));
    s.endProfiling();
    await s.release();
    const file = fs
      .readdirSync('/tmp')
      .filter((f) => f.startsWith(`blockprof-N${N}_`))
      .map((f) => `/tmp/${f}`)
      .sort()
      .at(-1);
    const ev = JSON.parse(fs.readFileSync(file, 'utf8')).filter(
      (e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'),
    );
    const last = ev.slice(ev.length / 2); // the second run (the T-token step)
    const byOp = {};
    for (const e of last) byOp[e.args.op_name] = (byOp[e.args.op_name] ?? 0) + e.dur / 1000;
    console.log(
      `N=${N} profile (ms):`,
      Object.entries(byOp)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', '),
    );
    fs.rmSync(file);
  }
}
process.exit(0);
