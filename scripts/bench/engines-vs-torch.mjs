// One d16 256-px generation (batch 1, cfg 1.5, top-k 900, top-p 0.95) timed in ONE run on the WebAssembly engine, the
// ONNX Runtime engine and PyTorch+OpenBLAS, per stage: transformer dense work (everything but attention), the
// transformer's attention (KV-cached, cpu backend, through core's router/policy; in PyTorch the softmax(q·kᵀ)·v
// lines), and the VQ-VAE decode. Random weights at the released shapes (VAR-d16 + vae_ch160v4096z32), built in memory.
// Each engine runs in its own child process (so each one's peak RSS is its own); medians over --reps generations
// after one warm-up (which for the onnx engine also pins the weights into ONNX Runtime sessions: its time is shown).
// The machine and the load average (before and after) are printed: other jobs on the machine slow every column.
// Usage: pnpm build && node scripts/bench/engines-vs-torch.mjs [--reps 3] [--quick] [--engines wasm,onnx,torch]
//          [--threads N] [--json out.json]
//   --quick: one timed generation per engine, no warm-up (the onnx engine's first run then includes pinning).
// PyTorch: scripts/bench/torch_var_d16.py with Debian's python3-torch + libopenblas0-pthread (python3 on PATH, then
// /usr/bin/python3: the first that imports torch).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine, median } from '@nextscale/bench-utils';
import { runTorchVarD16 } from './torch.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const flag = (name) => process.argv.includes(name);
const quick = flag('--quick');
const reps = Math.max(1, Number(arg('--reps', quick ? 1 : 3)));
const warmup = !quick;
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const GEN = { labels: [207], cfg: 1.5, topK: 900, topP: 0.95 };

if (flag('--child')) {
  await child(arg('--child'));
  process.exit(0); // worker pools would otherwise keep the process alive
}

// ------------------------------------------------------------------------------------------------ one engine (child)
async function child(engineId) {
  const core = await import('@nextscale/core');
  const models = await import('@nextscale/core/models');
  const { backend: cpuBackend } = await import('@nextscale/backend-cpu');
  // engine packages register themselves; a missing one makes loading the model fail with the package to install
  for (const pkg of ['@nextscale/engine-wasm/register', '@nextscale/engine-onnx/register']) {
    try {
      await import(pkg);
    } catch (e) {
      if (!/Cannot find (package|module)/.test(String(e?.message))) throw e;
    }
  }
  const clock = { stage: 'transformer', var: 0 };
  const timed = async (f) => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      if (clock.stage === 'transformer') clock.var += (performance.now() - t0) / 1000;
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
  const t0 = performance.now();
  const spec = models.releasedVARSpec(16);
  const model = await core.VARModel.fromStateDicts(
    { tensors: models.randomVARStateDict(spec) },
    { tensors: models.randomVQVAEStateDict(models.releasedVQVAEConfig()) },
    { registry, policy: core.priorityPolicy(), engine: engineId, threads },
  );
  const build = (performance.now() - t0) / 1000;
  const gen = async (seed) => {
    clock.stage = 'transformer';
    clock.var = 0;
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
    return { total: (t2 - t1) / 1000, transformer, attention: clock.var, dense: transformer - clock.var, decode: (t2 - tDecode) / 1000 };
  };
  const first = warmup ? await gen(100) : null;
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await gen(r));
  const engine = model.engine;
  await model.dispose();
  console.log(JSON.stringify({ engine, build, first, runs, maxRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }));
}

function runChild(engineId) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', engineId, '--reps', String(reps), '--threads', String(threads), ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
    env: { ...process.env, NEXTSCALE_THREADS: String(threads) },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ------------------------------------------------------------------------------------------------------------ PyTorch
// scripts/bench/torch_var_d16.py: the same shapes and generation loop (AdaLN blocks with a KV cache, l2-norm attention,
// guidance on [cond; uncond], top-k/top-p sampling, the multi-scale f_hat update, then the decoder), with the attention
// lines timed; peak RSS from getrusage.
function runTorch() {
  return runTorchVarD16({ reps, warmup, threads, gen: { label: GEN.labels[0], cfg: GEN.cfg, topK: GEN.topK, topP: GEN.topP } });
}

// ------------------------------------------------------------------------------------------------------------ parent
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const wanted = String(arg('--engines', 'wasm,onnx,torch')).split(',');
console.log(`machine: ${JSON.stringify(machine())}`);
console.log(`generation: d16 random weights, 256 px, batch 1, ${JSON.stringify(GEN)}; ${threads} threads everywhere; ` +
  `${reps} timed run(s)${warmup ? ' after one warm-up' : ', no warm-up (--quick)'}`);
const loadBefore = load();
const results = {};
for (const id of wanted) {
  process.stderr.write(`timing ${id}…\n`);
  results[id] = id === 'torch' ? runTorch() : runChild(id);
  // each engine's raw result as soon as it is there (a long run cut short still leaves what it measured)
  process.stderr.write(`${id}: ${JSON.stringify(results[id])}\n`);
}
const loadAfter = load();
console.log(`load average (1, 5, 15 min): before ${loadBefore}, after ${loadAfter}`);
const ok = wanted.filter((id) => !results[id].error);
for (const id of wanted) {
  const r = results[id];
  if (r.error) console.log(`${id}: FAILED: ${r.error}`);
  else console.log(`${id}: ${r.engine.name}${r.build ? `; model built in ${r.build.toFixed(1)} s` : ''}; peak RSS ${(r.maxRssMiB / 1024).toFixed(2)} GiB` +
    (r.first ? `; warm-up run ${r.first.total.toFixed(2)} s` : ''));
}
const STAGES = [
  ['transformer dense (all but attention)', 'dense'],
  ['transformer attention (KV-cached)', 'attention'],
  ['VQ-VAE decode', 'decode'],
  ['total', 'total'],
];
const med = (id, k) => median(results[id].runs.map((x) => x[k]));
const ratioCols = ok.filter((id) => id !== 'torch' && ok.includes('torch'));
console.log(`\n| stage (median s) | ${ok.join(' | ')} |${ratioCols.map((id) => ` ${id} ÷ torch |`).join('')}`);
console.log(`|---|${ok.map(() => '---|').join('')}${ratioCols.map(() => '---|').join('')}`);
for (const [label, k] of STAGES) {
  const cells = ok.map((id) => med(id, k).toFixed(2));
  const ratios = ratioCols.map((id) => (med(id, k) / med('torch', k)).toFixed(2));
  console.log(`| ${label} | ${cells.join(' | ')} |${ratios.map((x) => ` ${x} |`).join('')}`);
}
console.log(`| peak RSS GiB | ${ok.map((id) => (results[id].maxRssMiB / 1024).toFixed(2)).join(' | ')} |${ratioCols.map(() => ' |').join('')}`);
if (arg('--json')) writeFileSync(arg('--json'), JSON.stringify({ machine: machine(), loadBefore, loadAfter, GEN, threads, reps, warmup, results }, null, 2));
