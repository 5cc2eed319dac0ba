// d16 generation on the dense engines, two checkouts of this repository in ONE run: a baseline tree (e.g. main) and
// this one, each engine in its own child process (engines-vs-torch.mjs --child, run from its own tree, so each side
// uses its own built packages), alternating baseline/this per engine. Medians over --reps generations after one
// warm-up per child; the load average is printed before and after each child (the machine is shared: other jobs
// slow every column, so read the figures as noisy).
// Usage: node scripts/bench/compare-trees.mjs --base /path/to/other/checkout [--engines wasm,onnx] [--reps 3]
//          [--threads N] [--rounds 1] [--json out.json]
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
const base = arg('--base');
if (!base) {
  console.error('compare-trees: --base <checkout> is required (a built checkout of this repository to compare with)');
  process.exit(2);
}
const here = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const trees = { base: path.resolve(base), this: here };
const engines = String(arg('--engines', 'wasm,onnx')).split(',');
const reps = Number(arg('--reps', 3));
const rounds = Number(arg('--rounds', 1));
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

console.log(`machine: ${JSON.stringify(machine())}`);
console.log(`d16 random weights, 256 px, batch 1 (engines-vs-torch.mjs's generation); ${threads} threads; ${reps} timed runs after one warm-up per child, ${rounds} round(s)`);
console.log(`trees: base ${trees.base}, this ${trees.this}`);
const results = {};
for (let round = 0; round < rounds; round++) {
  for (const id of engines) {
    for (const side of ['base', 'this']) {
      const before = load();
      const r = spawnSync(process.execPath, [path.join(trees[side], 'scripts/bench/engines-vs-torch.mjs'), '--child', id, '--reps', String(reps), '--threads', String(threads)], {
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
}
const STAGES = [['transformer dense', 'dense'], ['transformer attention', 'attention'], ['VQ-VAE decode', 'decode'], ['total', 'total']];
const keys = Object.keys(results).filter((k) => results[k].runs.length);
console.log(`\n| median s (n runs) | ${keys.join(' | ')} |`);
console.log(`|---|${keys.map(() => '---|').join('')}`);
for (const [label, k] of STAGES) console.log(`| ${label} | ${keys.map((key) => `${median(results[key].runs.map((x) => x[k])).toFixed(2)} (${results[key].runs.length})`).join(' | ')} |`);
console.log(`| peak RSS GiB | ${keys.map((key) => (results[key].maxRssMiB / 1024).toFixed(2)).join(' | ')} |`);
for (const key of keys) console.log(`${key}: ${[...results[key].names].join(', ')}; load average (1, 5, 15 min) per child: ${results[key].loads.join('; ')}`);
if (arg('--json')) writeFileSync(arg('--json'), JSON.stringify({ machine: machine(), trees, threads, reps, results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...v, names: [...v.names] }])) }, null, 2));
