// Where a batch's time goes on the onnx engine: one d16 generation (random weights at the released shapes) at each
// --batches size, alternated --reps times in ONE process (load changes hit every size alike), with wall clock and
// process CPU time (all threads; far steadier than the wall clock on a shared machine) per stage: the blocks, the
// head (logits), the VQ-VAE's per-scale step, the next scale's input, the decode, and the rest (guidance mixing,
// sampling, token lookup). Prints per stage the median per image and its ratio to the first batch size's, plus the
// load average. Usage: pnpm build && nice node scripts/bench/onnx-batch-stages.mjs [--batches 1,8] [--reps 2]
//   [--no-decode] [--depth 16] [--unsplit | --budget-mib 8]
import fs from 'node:fs';
import os from 'node:os';
import * as core from '@nextscale/core';
import * as models from '@nextscale/core/models';
import '@nextscale/backend-cpu/register';
import { BlockRunner, OnnxDenseEngine, OrtSessions, engine as onnx } from '@nextscale/engine-onnx';
import { createRequire } from 'node:module';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const batches = arg('--batches', '1,8').split(',').map(Number);
const reps = Number(arg('--reps', 2));
const decode = !process.argv.includes('--no-decode');
const depth = Number(arg('--depth', 16));
// --unsplit: also run each size with every block call taking all rows at once (the engine before block-rows.ts);
// --budget-mib X: instead, with block calls' largest intermediate up to X MiB (block-rows.ts's CALL_BYTES)
const altBudget = process.argv.includes('--unsplit') ? 2 ** 50 : Number(arg('--budget-mib', 0)) * 2 ** 20;
const altName = process.argv.includes('--unsplit') ? 'unsplit' : `budget${arg('--budget-mib', 0)}MiB`;
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

let acc = {};
const clock = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
const since = (t0) => {
  const c = process.cpuUsage(t0.cpu);
  return { wall: (performance.now() - t0.wall) / 1000, cpu: (c.user + c.system) / 1e6 };
};
// --rss: each stage's peak resident set (VmHWM, reset at the stage's start through /proc/self/clear_refs) and what it
// rose above the resident set at its start: which stage sets a batch's peak
const rss = process.argv.includes('--rss');
const rssPeaks = {};
const vm = (key) => Number(/\d+/.exec(fs.readFileSync('/proc/self/status', 'utf8').split(key)[1])[0]) / 2 ** 20;
const rssMark = () => {
  if (!rss) return 0;
  fs.writeFileSync('/proc/self/clear_refs', '5');
  return vm('VmRSS:');
};
const rssSince = (stage, start) => {
  if (!rss) return;
  const peak = vm('VmHWM:');
  const r = (rssPeaks[`${stage} B=${currentB}`] ??= { start, peak: 0 });
  if (peak > r.peak) Object.assign(r, { start, peak });
};
let currentB = 0;
const add = (stage, d) => {
  const a = (acc[stage] ??= { wall: 0, cpu: 0 });
  a.wall += d.wall;
  a.cpu += d.cpu;
};
const timed = (obj, name, stage) => {
  const f = obj[name];
  obj[name] = async function (...a) {
    const t0 = clock();
    const r0 = rssMark();
    try {
      return await f.apply(this, a);
    } finally {
      add(stage, since(t0));
      rssSince(stage, r0);
    }
  };
};
timed(models.VARTransformer.prototype, 'runBlocks', 'blocks');
// --per-scale: the fused blocks' time split by scale (tokens per image), to see which scales grow with the batch
if (process.argv.includes('--per-scale')) {
  const run = BlockRunner.prototype.run;
  BlockRunner.prototype.run = async function (a) {
    const t0 = clock();
    try {
      return await run.call(this, a);
    } finally {
      add(`blocks ${Math.sqrt(a.tokens)}²`, since(t0));
    }
  };
}
timed(models.VARTransformer.prototype, 'logits', 'head');
timed(models.VARTransformer.prototype, 'nextScaleInput', 'next input');
timed(models.MultiScaleQuantizer.prototype, 'nextAutoregressiveInput', 'vae step');

const spec = { ...models.releasedVARSpec(16), depth };
const transformer = models.VARTransformer.fromStateDict({ tensors: models.randomVARStateDict(spec) });
const vq = models.VQVAE.fromStateDict(models.randomVQVAEStateDict(models.releasedVQVAEConfig()), {
  patchNums: spec.patchNums,
});
const vae = decode
  ? vq
  : { quantizer: vq.quantizer, fhatToImage: (fHat) => new core.Tensor([fHat.shape[0], 3, 256, 256]) };
timed(vae, 'fhatToImage', 'decode');
const { AttentionRouter } = await import('@nextscale/core/attention');
const router = await AttentionRouter.create({ policy: core.priorityPolicy() });
const threads = os.availableParallelism();
const engine = await onnx.create({ threads, releaseWeights: false });
const engines = { split: engine };
if (altBudget > 0) {
  const ort = createRequire(import.meta.resolve('@nextscale/engine-onnx'))('onnxruntime-node');
  const settings = { executionProviders: ['cpu'], cpu: { threads, memArena: false, spinning: false, prepack: true } };
  const sessions = new OrtSessions(ort, settings, 'onnxruntime-node cpu');
  engines[altName] = new OnnxDenseEngine(sessions, threads, false, new BlockRunner(ort, settings, altBudget));
}
const gen = async (B, seed, kind = 'split') => {
  core.setDenseEngine(engines[kind]);
  acc = {};
  currentB = B;
  const t0 = clock();
  await models.generateNextScale(
    transformer,
    vae,
    { labels: Array.from({ length: B }, (_, i) => (207 + i) % 1000), cfg: 1.5, topK: 900, topP: 0.95, seed },
    { router, trace: new core.AttentionTrace() },
  );
  const total = since(t0);
  const named = Object.values(acc).reduce((s, a) => ({ wall: s.wall + a.wall, cpu: s.cpu + a.cpu }), {
    wall: 0,
    cpu: 0,
  });
  acc.rest = { wall: total.wall - named.wall, cpu: total.cpu - named.cpu };
  acc.total = total;
  return acc;
};
console.log(`d16 (${depth} blocks), ${engine.name}, decode ${decode ? 'on' : 'off'}; load before ${load()}`);
for (const kind of Object.keys(engines)) await gen(1, 0, kind); // warm-up: builds the sessions
const sizes = batches.flatMap((B) => Object.keys(engines).map((kind) => `${B}${kind === 'split' ? '' : ` ${kind}`}`));
const runs = Object.fromEntries(sizes.map((k) => [k, []]));
for (let r = 0; r < reps; r++) {
  for (const k of sizes) {
    const [B, kind] = k.split(' ');
    runs[k].push(await gen(Number(B), r + 1, kind));
    console.log(
      `  rep ${r} B=${k}: ${runs[k].at(-1).total.wall.toFixed(2)} s wall, ${runs[k].at(-1).total.cpu.toFixed(2)} s CPU; load ${load()}`,
    );
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const stages = Object.keys(runs[sizes[0]][0]);
const per = (k, stage, what) => median(runs[k].map((r) => r[stage]?.[what] ?? 0)) / Number.parseInt(k, 10);
console.log(`stage | ${sizes.map((k) => `B=${k} wall/img, cpu/img (× B=${sizes[0]})`).join(' | ')}`);
for (const stage of stages) {
  console.log(
    `${stage} | ${sizes
      .map((B) => {
        const w = per(B, stage, 'wall');
        const c = per(B, stage, 'cpu');
        return `${w.toFixed(2)} s, ${c.toFixed(2)} s (${(w / per(sizes[0], stage, 'wall')).toFixed(2)}×, ${(c / per(sizes[0], stage, 'cpu')).toFixed(2)}×)`;
      })
      .join(' | ')}`,
  );
}
for (const [k, r] of Object.entries(rssPeaks))
  console.log(
    `RSS ${k}: ${r.start.toFixed(2)} GiB at the start, peak ${r.peak.toFixed(2)} (+${(r.peak - r.start).toFixed(2)})`,
  );
console.log(`load after ${load()}; peak RSS ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GiB`);
core.setDenseEngine(null);
for (const e of Object.values(engines)) await e.dispose();
await router.dispose();
process.exit(0);
