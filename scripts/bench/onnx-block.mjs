// Fused transformer blocks against the same blocks op by op, in ONE process, interleaved (so load changes hit both):
// a d16-width VAR cut to --depth blocks (random weights at the released shapes) generates at each --batches size
// with the onnx engine's fused blocks on, then off (attention in the cpu backend), --reps times each; the VQ-VAE decode
// is skipped (a stub returns a blank image): this measures the transformer only. Prints the medians, the ratio, the
// time per image against B=1's, and the load average.
// Usage: pnpm build && nice node scripts/bench/onnx-block.mjs [--depth 2] [--batches 1,8] [--reps 3] [--threads 2]
import os from 'node:os';
import * as core0 from '@nextscale/core';
import * as models from '@nextscale/core/models';
import * as attention from '@nextscale/core/attention';

const core = { ...core0, ...models, ...attention };
import '@nextscale/backend-cpu/register';
import { engine as onnx } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const depth = Number(arg('--depth', 2));
const batches = arg('--batches', '1,8').split(',').map(Number);
const reps = Number(arg('--reps', 3));
const threads = Number(arg('--threads', os.availableParallelism()));
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

const spec = { ...core.releasedVARSpec(16), depth };
const transformer = core.VARTransformer.fromStateDict({ tensors: core.randomVARStateDict(spec) });
const vq = core.VQVAE.fromStateDict(core.randomVQVAEStateDict(core.releasedVQVAEConfig()), {
  patchNums: spec.patchNums,
});
const vae = { quantizer: vq.quantizer, fhatToImage: (fHat) => new core.Tensor([fHat.shape[0], 3, 256, 256]) };
const router = await core.AttentionRouter.create({ policy: core.priorityPolicy() });
const engines = {
  fused: await onnx.create({ threads, releaseWeights: false, fusedBlocks: true }),
  split: await onnx.create({ threads, releaseWeights: false, fusedBlocks: false }),
};
const gen = async (kind, B, seed) => {
  core.setDenseEngine(engines[kind]);
  const trace = new core.AttentionTrace();
  const t0 = performance.now();
  await core.generateNextScale(
    transformer,
    vae,
    { labels: Array.from({ length: B }, (_, i) => 207 + i), cfg: 1.5, topK: 900, topP: 0.95, seed },
    { router, trace },
  );
  const s = (performance.now() - t0) / 1000;
  if (trace.entries.some((e) => e.fusedIn) !== (kind === 'fused')) throw new Error(`${kind}: the trace says otherwise`);
  return s;
};
console.log(`d16 width, ${depth} blocks, ${threads} threads; load before ${load()}`);
for (const kind of ['fused', 'split']) await gen(kind, 1, 0); // warm-up: builds the sessions
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const perImageB1 = {};
for (const B of batches) {
  const t = { fused: [], split: [] };
  for (let r = 0; r < reps; r++) for (const kind of ['fused', 'split']) t[kind].push(await gen(kind, B, r + 1));
  const m = { fused: median(t.fused), split: median(t.split) };
  for (const k of ['fused', 'split']) perImageB1[k] ??= m[k];
  console.log(
    `B=${B}: fused ${m.fused.toFixed(2)} s [${t.fused.map((x) => x.toFixed(2))}], split ${m.split.toFixed(2)} s [${t.split.map((x) => x.toFixed(2))}]; ` +
      `fused ÷ split ${(m.fused / m.split).toFixed(2)}; per image vs B=1: fused ${(m.fused / B / perImageB1.fused).toFixed(2)}×, split ${(m.split / B / perImageB1.split).toFixed(2)}×; load ${load()}`,
  );
}
core.setDenseEngine(null);
await Promise.all(Object.values(engines).map((e) => e.dispose()));
await router.dispose();
process.exit(0);
