// Throughput of the CPU kernels: core's matmul and the cpu backend's exact attention at VAR's
// attention shapes (L = 680 and 2240, head dim 64), medians over several runs.
// Usage: pnpm build && node scripts/bench/kernels.mjs [--reps 5]
import '@nextscale/engine-wasm/register';
import { Rng, Tensor, selectEngine, setDenseEngine } from '@nextscale/core';
import { pyramidWork } from '@nextscale/core/attention';
import { activeEngineInfo } from '@nextscale/core/engines';
import { matmul } from '@nextscale/core/ops';
import { RELEASED_PYRAMIDS, scaleEnds } from '@nextscale/core/models';
import { createCpuAttention } from '@nextscale/backend-cpu';
import { machine, timeMedian } from '@nextscale/bench-utils';

// core computes on its TypeScript reference until an engine is chosen: pick the best installed one (the WebAssembly
// engine here; NEXTSCALE_ENGINE / NEXTSCALE_THREADS are honoured), as the CLI does.
setDenseEngine((await selectEngine()).engine);

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 5;
const rng = new Rng(0);
const rand = (shape) => new Tensor(shape, rng.normalArray(shape.reduce((a, b) => a * b, 1)));

const rows = [];
for (const [M, K, N] of [
  [680, 64, 680],
  [680, 680, 64],
  [256, 1024, 1024],
  [680, 1024, 4096],
]) {
  const a = rand([M, K]);
  const b = rand([K, N]);
  const { median } = await timeMedian(() => matmul(a, b), reps);
  rows.push({ kernel: `matmul ${M}×${K}×${N}`, seconds: median, gflops: (2 * M * K * N) / median / 1e9 });
}

const att = await createCpuAttention();
for (const [L, pns] of Object.entries(RELEASED_PYRAMIDS)) {
  const d = 64;
  const n = Number(L);
  const [q, k, v] = [0, 1, 2].map(() => rand([1, 1, n, d]));
  const full = await timeMedian(() => att.attend(q, k, v, { scale: 0.125 }), reps);
  rows.push({
    kernel: `attention L=${n} d=${d} no mask`,
    seconds: full.median,
    gflops: (4 * n * n * d) / full.median / 1e9,
  });
  const ends = scaleEnds(pns);
  const pairs = pyramidWork(ends);
  const masked = await timeMedian(
    () => att.attend(q, k, v, { scale: 0.125, mask: { kind: 'block-causal', scaleEnds: ends } }),
    reps,
  );
  rows.push({
    kernel: `attention L=${n} d=${d} block-causal`,
    seconds: masked.median,
    gflops: (4 * pairs * d) / masked.median / 1e9,
  });
}

console.log(
  `machine: ${JSON.stringify(machine())}; GEMM engine ${activeEngineInfo().name}; median of ${reps} runs after one warm-up`,
);
console.log('| kernel | median s | GFLOP/s |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.kernel} | ${r.seconds.toFixed(4)} | ${r.gflops.toFixed(2)} |`);
