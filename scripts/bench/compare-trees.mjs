// d16 generation on the dense engines, two checkouts of this repository in ONE run: a baseline tree (e.g. main) and
// this one. Each (engine, tree) pair runs in its own child process that imports that tree's built packages by path,
// alternating baseline/this per engine; the generation is engines-vs-torch.mjs's (batch 1, cfg 1.5, top-k 900,
// top-p 0.95, random weights at VAR-d16's shapes with the released VQ-VAE), on a shorter schedule by default
// (--pn 1,2,3,4,5,6,8: every layer at its d16 width, the first scales' small calls included, a 128-px image) so
// that a loaded machine finishes; --pn 1,2,3,4,5,6,8,10,13,16 is the released 256-px schedule. Medians over --reps
// generations after one warm-up per child; the load average before and after each child is printed (the machine
// is shared: other jobs slow every column, so read the figures as noisy).
// Usage: node scripts/bench/compare-trees.mjs --base /path/to/other/checkout [--engines wasm,onnx] [--reps 3]
//          [--threads N] [--pn 1,2,3,4,5,6,8] [--this-first] [--json out.json]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median } from '@nextscale/bench-utils';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const engines = String(arg('--engines', 'wasm,onnx')).split(',');
const reps = Number(arg('--reps', 3));
const pn = String(arg('--pn', '1,2,3,4,5,6,8'));
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const GEN = { labels: [207], cfg: 1.5, topK: 900, topP: 0.95 };

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
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

console.log(`machine: ${JSON.stringify(machine())}`);
console.log(`d16 random weights, patch schedule ${pn}, batch 1, ${JSON.stringify(GEN)}; ${threads} threads; ${reps} timed runs after one warm-up per child`);
console.log(`trees: base ${trees.base}, this ${trees.this}`);
const results = {};
for (const id of engines) {
  // --this-first: the other order, to see how much a load that drifts during the run favours the second side
  for (const side of process.argv.includes('--this-first') ? ['this', 'base'] : ['base', 'this']) {
    const before = load();
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', id, '--tree', trees[side], '--reps', String(reps), '--threads', String(threads), '--pn', pn], {
      cwd: trees[side],
      encoding: 'utf8',
      env: { ...process.env, NEXTSCALE_THREADS: String(threads) },
      maxBuffer: 1 << 24,
    });
    const key = `${id} ${side}`;
    const entry = (results[key] ??= { runs: [], loads: [], names: new Set() });
    entry.loads.push(`${before} → ${load()}`);
    if (r.status !== 0) {
      entry.error = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
      console.log(`${key}: FAILED: ${entry.error}`);
      continue;
    }
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    entry.runs.push(...out.runs);
    entry.names.add(out.engine.name);
    entry.maxRssMiB = Math.max(entry.maxRssMiB ?? 0, out.maxRssMiB);
    process.stderr.write(`${key}: ${JSON.stringify(out.runs.map((x) => +x.total.toFixed(2)))} (load ${entry.loads.at(-1)})\n`);
  }
}
const STAGES = [['transformer dense', 'dense'], ['transformer attention', 'attention'], ['VQ-VAE decode', 'decode'], ['total', 'total']];
const keys = Object.keys(results).filter((k) => results[k].runs.length);
console.log(`\n| median s (n runs) | ${keys.join(' | ')} |`);
console.log(`|---|${keys.map(() => '---|').join('')}`);
for (const [label, k] of STAGES) console.log(`| ${label} | ${keys.map((key) => `${median(results[key].runs.map((x) => x[k])).toFixed(2)} (${results[key].runs.length})`).join(' | ')} |`);
console.log(`| peak RSS GiB | ${keys.map((key) => (results[key].maxRssMiB / 1024).toFixed(2)).join(' | ')} |`);
for (const key of keys) console.log(`${key}: ${[...results[key].names].join(', ')}; load average (1, 5, 15 min) per child: ${results[key].loads.join('; ')}`);
if (arg('--json')) writeFileSync(arg('--json'), JSON.stringify({ machine: machine(), trees, threads, reps, results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...v, names: [...v.names] }])) }, null, 2));

// ------------------------------------------------------------------------------------------------ one engine (child)
async function child(engineId, tree) {
  const pkg = (p) => import(path.join(tree, 'packages', p));
  const core = await pkg('core/dist/index.js');
  const { backend: cpuBackend } = await pkg('backend-cpu/dist/index.js');
  await pkg(engineId === 'onnx' ? 'engine-onnx/dist/register.js' : 'engine-wasm/dist/register.js');
  const clock = { stage: 'transformer', attention: 0 };
  const timed = async (f) => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      if (clock.stage === 'transformer') clock.attention += (performance.now() - t0) / 1000;
    }
  };
  // the cpu backend with its KV-state methods timed, in a private registry
  const registry = core.createRegistry();
  registry.register({
    ...cpuBackend,
    probe: () => cpuBackend.probe(),
    async create(o) {
      const inner = await cpuBackend.create(o);
      return {
        backendId: inner.backendId,
        attend: (q, k, v, spec) => inner.attend(q, k, v, spec),
        createState(so) {
          const s = inner.createState(so);
          return {
            get length() {
              return s.length;
            },
            append: (k, v) => timed(() => s.append(k, v)),
            attend: (q) => timed(() => s.attend(q)),
            dispose: () => s.dispose(),
          };
        },
        dispose: () => inner.dispose(),
      };
    },
  });
  const patchNums = pn.split(',').map(Number);
  const spec = { ...core.releasedVARSpec(16), patchNums };
  const model = await core.VARModel.fromStateDicts(
    { tensors: core.randomVARStateDict(spec) },
    { tensors: core.randomVQVAEStateDict({ ...core.releasedVQVAEConfig(), numScales: patchNums.length }) },
    { registry, policy: core.priorityPolicy(), engine: engineId, threads, patchNums },
  );
  const gen = async (seed) => {
    clock.stage = 'transformer';
    clock.attention = 0;
    let tDecode = 0;
    const t1 = performance.now();
    await model.generate({ ...GEN, seed, onProgress: (e) => {
      if (e.stage === 'decode' && !tDecode) {
        tDecode = performance.now();
        clock.stage = 'decode';
      }
    } });
    const t2 = performance.now();
    const transformer = (tDecode - t1) / 1000;
    return { total: (t2 - t1) / 1000, attention: clock.attention, dense: transformer - clock.attention, decode: (t2 - tDecode) / 1000 };
  };
  await gen(100); // warm-up (the onnx engine builds its sessions here)
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await gen(r));
  const engine = model.engine;
  await model.dispose();
  console.log(JSON.stringify({ engine, runs, maxRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }));
}
