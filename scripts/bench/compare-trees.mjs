// d16 generation on the dense engines, two checkouts of this repository in ONE run: a baseline tree (e.g. main) and
// this one. Per engine, one child process imports both trees' built packages by path (two cores, two engines side by
// side), builds the model on each and alternates their generations, so both sides see the same load. The generation
// is engines-vs-torch.mjs's (batch 1, cfg 1.5, top-k 900, top-p 0.95, random weights at VAR-d16's shapes with the
// released VQ-VAE), on a shorter schedule by default (--pn 1,2,3,4,5,6,8: every layer at its d16 width, the first
// scales' small calls included, a 128-px image) so that a loaded machine finishes; --pn 1,2,3,4,5,6,8,10,13,16 is the
// released 256-px schedule. Medians over --reps generations after one warm-up per side; the load average before and
// after each child is printed (the machine is shared: other jobs slow every column, so read the figures as noisy).
// Usage: node scripts/bench/compare-trees.mjs --base /path/to/other/checkout [--engines wasm,onnx] [--reps 3]
//          [--threads N] [--pn 1,2,3,4,5,6,8] [--batch N] [--this-first] [--json out.json]
// The onnx engine: both trees' engines must load one onnxruntime-node (two copies of its native binding in one process
// abort in napi_add_env_cleanup_hook): point the base tree's packages/engine-onnx/node_modules/onnxruntime-node at
// this tree's (same version), e.g. ln -sfn "$PWD/node_modules/.pnpm/onnxruntime-node@1.30.0/node_modules/onnxruntime-node" …
//   --batch N: N images per generation (classes 207, 208, …); per-image rows are added. Each run's process CPU time
//     (user + system, all threads) is printed beside the wall clock: on a loaded machine it moves far less.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median } from '@nextscale/bench-utils';
import { timedBackend } from './timed-backend.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const engines = String(arg('--engines', 'wasm,onnx')).split(',');
const reps = Number(arg('--reps', 3));
const pn = String(arg('--pn', '1,2,3,4,5,6,8'));
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const batch = Math.max(1, Number(arg('--batch', 1)));
const GEN = { labels: Array.from({ length: batch }, (_, i) => 207 + i), cfg: 1.5, topK: 900, topP: 0.95 };

if (process.argv.includes('--child')) {
  await child(arg('--child'), arg('--tree'));
  process.exit(0); // worker pools would otherwise keep the process alive
}

const base = arg('--base');
if (!base) {
  console.error('compare-trees: --base <checkout> is required (a built checkout of this repository to compare with)');
  process.exit(2);
}
const here = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const trees = { base: path.resolve(base), this: here };
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

console.log(`machine: ${JSON.stringify(machine())}`);
console.log(
  `d16 random weights, patch schedule ${pn}, batch ${batch}, ${JSON.stringify(GEN)}; ${threads} threads; ${reps} timed runs after one warm-up per side, alternating`,
);
console.log(`trees: base ${trees.base}, this ${trees.this}`);
const results = {};
const order = process.argv.includes('--this-first') ? ['this', 'base'] : ['base', 'this'];
for (const id of engines) {
  const before = load();
  const r = spawnSync(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--child',
      id,
      '--tree',
      order.map((side) => trees[side]).join(','),
      '--reps',
      String(reps),
      '--threads',
      String(threads),
      '--pn',
      pn,
      '--batch',
      String(batch),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, NEXTSCALE_THREADS: String(threads) },
      maxBuffer: 1 << 24,
    },
  );
  const loads = `${before} → ${load()}`;
  if (r.status !== 0) {
    console.log(`${id}: FAILED: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    continue;
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  order.forEach((side, i) => {
    results[`${id} ${side}`] = {
      runs: out.sides[i].runs,
      name: out.sides[i].engine.name,
      loads,
      maxRssMiB: out.maxRssMiB,
    };
    process.stderr.write(
      `${id} ${side}: ${JSON.stringify(out.sides[i].runs.map((x) => +x.total.toFixed(2)))} (load ${loads})\n`,
    );
  });
}
const STAGES = [
  ['transformer dense', 'dense'],
  ['transformer attention', 'attention'],
  ['VQ-VAE decode', 'decode'],
  ['total', 'total'],
  ['process CPU s (all threads)', 'cpu'],
];
const keys = Object.keys(results);
console.log(`\n| median s (n runs) | ${keys.join(' | ')} |`);
console.log(`|---|${keys.map(() => '---|').join('')}`);
for (const [label, k] of STAGES)
  console.log(
    `| ${label} | ${keys.map((key) => `${median(results[key].runs.map((x) => x[k])).toFixed(2)} (${results[key].runs.length})`).join(' | ')} |`,
  );
if (batch > 1)
  for (const [label, k] of [
    ['total per image', 'total'],
    ['CPU per image', 'cpu'],
  ])
    console.log(
      `| ${label} | ${keys.map((key) => (median(results[key].runs.map((x) => x[k])) / batch).toFixed(2)).join(' | ')} |`,
    );
for (const key of keys)
  console.log(
    `${key}: ${results[key].name}; load average (1, 5, 15 min) before → after its process: ${results[key].loads}`,
  );
if (arg('--json'))
  writeFileSync(arg('--json'), JSON.stringify({ machine: machine(), trees, threads, reps, results }, null, 2));

// ------------------------------------------------------------------------------------------------ one engine (child)
/** Builds the model once per tree (each tree's own core, engines and backend, side by side in this process) and times generations, alternating trees. */
async function child(engineId, treeList) {
  const sides = [];
  for (const tree of treeList.split(',')) sides.push(await openModel(engineId, tree));
  for (const s of sides) await s.gen(100); // warm-up (the onnx engine builds its sessions here)
  const runs = sides.map(() => []);
  for (let r = 0; r < reps; r++) for (const [i, s] of sides.entries()) runs[i].push(await s.gen(r));
  const out = [];
  for (const [i, s] of sides.entries()) {
    out.push({ engine: s.model.engine, runs: runs[i] });
    await s.model.dispose();
  }
  console.log(JSON.stringify({ sides: out, maxRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }));
}

async function openModel(engineId, tree) {
  const pkg = (p) => import(path.join(tree, 'packages', p));
  const core = await pkg('core/dist/index.js');
  // the random-weight builders: on @nextscale/core/models since its index was trimmed, on the index in older trees
  const models = await pkg('core/dist/models/index.js').catch(() => core);
  const { backend: cpuBackend } = await pkg('backend-cpu/dist/index.js');
  // the tree's own engine object (not its /register entry: the default registries of the two trees' cores are one,
  // shared through a global symbol, and would hand both sides the first tree's engine)
  const { engine: descriptor } = await pkg(
    engineId === 'onnx' ? 'engine-onnx/dist/index.js' : 'engine-wasm/dist/index.js',
  );
  const engine = await descriptor.create({ threads });
  const clock = { stage: 'transformer', attention: 0 };
  // the cpu backend with its KV-state calls timed (the transformer's attention), in a private registry
  const registry = core.createRegistry();
  registry.register(
    timedBackend(cpuBackend, (seconds, call) => {
      if (call === 'state' && clock.stage === 'transformer') clock.attention += seconds;
    }),
  );
  const patchNums = pn.split(',').map(Number);
  const spec = { ...models.releasedVARSpec(16), patchNums };
  const model = await core.VARModel.fromStateDicts(
    { tensors: models.randomVARStateDict(spec) },
    { tensors: models.randomVQVAEStateDict({ ...models.releasedVQVAEConfig(), numScales: patchNums.length }) },
    { registry, policy: core.priorityPolicy(), engine, patchNums },
  );
  const gen = async (seed) => {
    clock.stage = 'transformer';
    clock.attention = 0;
    let tDecode = 0;
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    await model.generate({
      ...GEN,
      seed,
      onProgress: (e) => {
        if (e.stage === 'decode' && !tDecode) {
          tDecode = performance.now();
          clock.stage = 'decode';
        }
      },
    });
    const t2 = performance.now();
    const c2 = process.cpuUsage(c1);
    const transformer = (tDecode - t1) / 1000;
    return {
      total: (t2 - t1) / 1000,
      attention: clock.attention,
      dense: transformer - clock.attention,
      decode: (t2 - tDecode) / 1000,
      cpu: (c2.user + c2.system) / 1e6,
    };
  };
  return { model, gen };
}
