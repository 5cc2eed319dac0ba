// gpu backend vs cpu backend: exact attention time at VAR's shapes (L = 680 and 2240, head dim 64,
// block-causal and unmasked), in every gpu.js mode that runs in Node here; medians over several runs.
// Usage: pnpm build && node packages/backend-gpu/bench/attention.mjs [--reps 3] [--modes webasm,cpu]
import os from 'node:os';
import { Rng, Tensor } from '@nextscale/core';
import { createCpuAttention } from '@nextscale/backend-cpu';
import { createGpuAttention, modeSupported } from '../dist/index.js';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const reps = Number(arg('--reps', 3));
const modes = arg('--modes', 'webgpu,webgl2,headlessgl,webasm').split(',');
const pyramids = { 680: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16], 2240: [1, 2, 3, 4, 6, 9, 13, 18, 24, 32] };

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function time(fn) {
  await fn();
  const t = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t) / 1000;
}

const rng = new Rng(0);
const rand = (shape) => new Tensor(shape, rng.normalArray(shape.reduce((a, b) => a * b, 1)));
const engines = [{ name: 'cpu backend', mode: '-', create: () => createCpuAttention() }];
for (const mode of modes) {
  const s = await modeSupported(mode);
  if (s.ok) engines.push({ name: 'gpu backend', mode, adapter: s.adapter, create: () => createGpuAttention({ mode }) });
  else console.error(`skipping gpu.js mode ${mode}: ${s.reason}`);
}

console.log(`machine: ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores, node ${process.version}; median of ${reps} runs after a warm-up`);
console.log('| backend | gpu.js mode | L | mask | median s | GFLOP/s | vs cpu |\n|---|---|---|---|---|---|---|');
for (const [L, pns] of Object.entries(pyramids)) {
  const n = Number(L);
  const d = 64;
  const [q, k, v] = [0, 1, 2].map(() => rand([1, 1, n, d]));
  const ends = [];
  let acc = 0;
  for (const p of pns) ends.push((acc += p * p));
  let pairs = 0;
  let prev = 0;
  for (const e of ends) (pairs += (e - prev) * e), (prev = e);
  for (const [mask, spec, flops] of [
    ['block-causal', { scale: 0.125, mask: { kind: 'block-causal', scaleEnds: ends } }, 4 * pairs * d],
    ['none', { scale: 0.125 }, 4 * n * n * d],
  ]) {
    let cpuTime;
    for (const e of engines) {
      const att = await e.create();
      const s = await time(() => att.attend(q, k, v, spec));
      await att.dispose();
      cpuTime ??= s;
      console.log(`| ${e.name} | ${e.mode}${e.adapter ? ` (${e.adapter})` : ''} | ${n} | ${mask} | ${s.toFixed(3)} | ${(flops / s / 1e9).toFixed(2)} | ${(s / cpuTime).toFixed(2)}× |`);
    }
  }
}
