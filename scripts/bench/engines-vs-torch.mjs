// One d16 256-px generation (batch 1, cfg 1.5, top-k 900, top-p 0.95) timed in ONE run on the WebAssembly engine, the
// ONNX Runtime engine and PyTorch+OpenBLAS, per stage: transformer dense work (everything but attention), the
// transformer's attention (KV-cached, cpu backend, through core's router/policy; in PyTorch the softmax(q·kᵀ)·v
// lines), and the VQ-VAE decode. Random weights at the released shapes (VAR-d16 + vae_ch160v4096z32): nextscale loads
// them from files (--load), PyTorch builds them in memory.
// Each engine runs in its own child process (so each one's peak RSS is its own); medians over --reps generations
// after one warm-up (which for the onnx engine also pins the weights into ONNX Runtime sessions: its time is shown).
// The machine and the load average (before and after) are printed: other jobs on the machine slow every column.
// Usage: pnpm build && node scripts/bench/engines-vs-torch.mjs [--reps 3] [--quick] [--engines wasm,onnx,torch]
//          [--threads N] [--batch N] [--cold [--depth N] [--dir D]] [--torch-coretype X] [--json out.json]
//   --quick: one timed generation per engine, no warm-up (the onnx engine's first run then includes pinning).
//   --batch N: N images per generation (classes 207, 208, …; the CFG batch is 2N rows); times per image are printed too.
//   --cold: one image from a fresh process, --reps times: the CLI itself (`nextscale generate --var … --vae … -o x.png`,
//     process start to PNG written) for each engine, and for PyTorch the same program from process start (import torch,
//     build the model, read the same two safetensors files, generate). The files (random d16 + VQ-VAE at the released
//     shapes) are written to a temp dir first and removed afterwards.
//   --baseline ROOT (with --cold): engine id onnx@base runs another built checkout's CLI (e.g. /work/main), same run.
//   --depth N (with --cold): VAR-d{N} at the released shapes instead of d16 (d36: the 512-px schedule, shared AdaLN),
//     with the peak RSS compared with #25's target, 1.1 × (weights + KV cache); --dir D writes the files into D and
//     keeps them for later runs (a d30 file is 8 GB, d36 9.4 GB: write it once; delete D when done).
//   Engine ids: wasm, onnx, and onnx-split (the onnx engine with its fused transformer blocks off,
//     NEXTSCALE_ONNX_FUSED_BLOCKS=0: the blocks op by op, attention in the cpu backend), torch.
//   --load files|memory: how the nextscale children get the model. files (the default): written as --cold writes them
//     (--dir D keeps them) and loaded with loadVAR, as `nextscale sample` loads them (its AdaLN weights stay in the file,
//     core models/var/adaln-weights.ts); memory: built from state dicts in memory, every weight held.
//   --adaln stream|hold (with --load files): loadVAR's streamAdaLN: stream (the default: the AdaLN weights read from the
//     file at each generation) or hold (read into memory with the rest, as before: the same-run baseline).
//   --allocator cli|default: the glibc settings of the nextscale children. cli (the default): those the CLI runs its
//     model commands with (packages/cli/bin/allocator.js, GLIBC_TUNABLES), so the warm figures are `nextscale sample`'s;
//     default: glibc's own, as in a program that imports the library (a GLIBC_TUNABLES already set is kept either way).
//     The cold mode runs the CLI itself, which sets them. PyTorch runs with glibc's own.
//   --peak G: the machine's FMA peak in GFLOP/s for the % column (default 455 where /proc/cpuinfo lists avx512f, else 210).
//   --torch-coretype best|default|X: PyTorch's OpenBLAS kernels. best (the default): OpenBLAS's own choice and
//     OPENBLAS_CORETYPE=SkylakeX / Haswell are each timed for a few seconds on d16's linear layers (torch.mjs
//     bestTorchCoretype; a core type the CPU lacks dies with SIGILL and is skipped), and the fastest runs the benchmark;
//     the probe's figures are printed. default: OpenBLAS's own choice, no probe. X: OPENBLAS_CORETYPE=X.
// PyTorch runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (this machine may set them,
// which pins OpenBLAS to slower kernels) and OPENBLAS_VERBOSE=2, so the OpenBLAS core it ran is printed. Nothing else
// (tests, CI, the engines' processes) sees that change. PyTorch's convolutions (the decode) run on oneDNN, not OpenBLAS.
// GFLOP/s: the generation's multiply-add work counted from the d16 shapes (dense: the transformer's linear layers and
// head; attention: q·kᵀ and p·v over the KV cache; decode: the decoder's convolutions and attention, as direct
// convolutions: Winograd convolutions do less arithmetic for the same result, so their figure can pass the peak), against
// --peak.
// PyTorch: scripts/bench/torch_var_d16.py with Debian's python3-torch + libopenblas0-pthread (python3 on PATH, then
// /usr/bin/python3: the first that imports torch).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median } from '@nextscale/bench-utils';
import { ALLOCATOR_ENV, wantsRelaunch } from '@nextscale/cli/allocator';
import { timedBackend } from './timed-backend.mjs';
import { bestTorchCoretype, describeProbes, runTorchVarD16 } from './torch.mjs';

// --help prints the comment above (the usage) instead of starting a run that takes many minutes.
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  const usage = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0];
  process.stdout.write(`${usage.replace(/^\/\/ ?/gm, '')}\n`);
  process.exit(0);
}

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const flag = (name) => process.argv.includes(name);
const quick = flag('--quick');
const reps = Math.max(1, Number(arg('--reps', quick ? 1 : 3)));
const warmup = !quick;
const threads = Number(arg('--threads', os.availableParallelism?.() ?? os.cpus().length));
const batch = Math.max(1, Number(arg('--batch', 1)));
const cold = flag('--cold');
const depth = Number(arg('--depth', 16));
// the default peak: 455 GFLOP/s was measured (AVX-512 FMA, both cores) on the VM the issue was filed on; a VM without
// AVX-512 (e.g. this project's AMD EPYC 7002 guest: AVX2, 2 × 256-bit FMA) measured ~210 on both cores
const avx512 = /\bavx512f\b/.test(
  (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })(),
);
const peak = Number(arg('--peak', avx512 ? 455 : 210));
const torchCoretypeArg = arg('--torch-coretype', 'best');
let torchCoretype = ['best', 'default'].includes(torchCoretypeArg) ? undefined : torchCoretypeArg;
/** What chose PyTorch's OpenBLAS kernels, printed with its results. */
let torchCoretypeNote = torchCoretype
  ? `OPENBLAS_CORETYPE=${torchCoretype} (--torch-coretype)`
  : "OpenBLAS's own choice";
/** Runs the best-kernel probe when asked (only when PyTorch is among the engines run). */
function chooseTorchCoretype() {
  if (torchCoretypeArg !== 'best') return;
  const best = bestTorchCoretype(threads);
  if (best.error) return;
  torchCoretype = best.coretype;
  torchCoretypeNote = `the fastest in a probe of d16's linear layers, ${threads} threads: ${describeProbes(best.probes)}`;
  process.stderr.write(`torch kernels: ${torchCoretypeNote}\n`);
}
// the nextscale children's glibc settings: with --allocator cli, those `nextscale sample` would run with here (the
// CLI's own rule: Linux, and no GLIBC_TUNABLES of the user's)
const allocatorArg = arg('--allocator', 'cli');
if (!['cli', 'default'].includes(allocatorArg)) throw new Error(`--allocator: cli or default, got ${allocatorArg}`);
const allocatorEnv =
  allocatorArg === 'cli' && wantsRelaunch(['sample']) ? { [ALLOCATOR_ENV.name]: ALLOCATOR_ENV.value } : {};
const allocatorNote =
  process.env.GLIBC_TUNABLES !== undefined
    ? `GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES} (from the environment)`
    : allocatorEnv.GLIBC_TUNABLES
      ? `GLIBC_TUNABLES=${allocatorEnv.GLIBC_TUNABLES} (the CLI's, --allocator cli)`
      : "glibc's own (--allocator default)";
// where the nextscale children get the model: loadVAR from files (the default, as the CLI does) or state dicts in memory
const loadFrom = arg('--load', 'files');
if (!['files', 'memory'].includes(loadFrom)) throw new Error(`--load: files or memory, got ${loadFrom}`);
// with --load files: the AdaLN weights left in the file and read at each generation (loadVAR's default), or held
const adaLN = arg('--adaln', 'stream');
if (!['stream', 'hold'].includes(adaLN)) throw new Error(`--adaln: stream or hold, got ${adaLN}`);
const GEN = { labels: Array.from({ length: batch }, (_, i) => 207 + i), cfg: 1.5, topK: 900, topP: 0.95 };

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
  // the cpu backend with its KV-state calls timed (the transformer's attention), in a private registry
  const registry = core.createRegistry();
  registry.register(
    timedBackend(cpuBackend, (seconds, call) => {
      if (call === 'state' && clock.stage === 'transformer') clock.var += seconds;
    }),
  );
  const t0 = performance.now();
  const options = { registry, policy: core.priorityPolicy(), engine: engineId, threads, encoder: false };
  const model = arg('--var')
    ? await core.loadVAR({
        var: arg('--var'),
        vae: arg('--vae'),
        images: batch,
        streamAdaLN: adaLN === 'stream',
        ...options,
      })
    : await fromMemory(core, models, options);
  const build = (performance.now() - t0) / 1000;
  const gen = async (seed) => {
    clock.stage = 'transformer';
    clock.var = 0;
    let tDecode = 0;
    const t1 = performance.now();
    const { trace } = await model.generate({
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
    const transformer = (tDecode - t1) / 1000;
    // fused: the blocks ran whole in the engine, their attention inside it (counted in dense, not in attention)
    const fused = trace.entries.some((e) => e.fusedIn);
    return {
      total: (t2 - t1) / 1000,
      transformer,
      attention: clock.var,
      dense: transformer - clock.var,
      decode: (t2 - tDecode) / 1000,
      fused,
    };
  };
  const first = warmup ? await gen(100) : null;
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await gen(r));
  const engine = model.engine;
  await model.dispose();
  console.log(
    JSON.stringify({ engine, build, first, runs, maxRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }),
  );
}

/** The model from state dicts built in memory (--load memory): every weight held, as a program that builds its own. */
function fromMemory(core, models, options) {
  return core.VARModel.fromStateDicts(
    { tensors: models.randomVARStateDict(models.releasedVARSpec(16)) },
    // the encoder's tensors as shapes only: loaded with encoder: false, core keeps nothing else of them
    {
      tensors: new Map(
        models
          .randomVQVAEStateDictEntries(models.releasedVQVAEConfig())
          .map((e) => [
            e.name,
            e.name.startsWith('encoder.')
              ? { shape: [...e.shape], data: new Float32Array(0) }
              : new core.Tensor([...e.shape], e.data()),
          ]),
      ),
    },
    options,
  );
}

function runChild(id, files) {
  const engineId = id === 'onnx-split' ? 'onnx' : id;
  const r = spawnSync(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--child',
      engineId,
      '--reps',
      String(reps),
      '--threads',
      String(threads),
      '--batch',
      String(batch),
      ...(quick ? ['--quick'] : []),
      ...(files ? ['--var', files.var, '--vae', files.vae, '--adaln', adaLN] : []),
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        ...allocatorEnv,
        NEXTSCALE_THREADS: String(threads),
        ...(id === 'onnx-split' ? { NEXTSCALE_ONNX_FUSED_BLOCKS: '0' } : {}),
      },
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ------------------------------------------------------------------------------------------------------------ PyTorch
// scripts/bench/torch_var_d16.py: the same shapes and generation loop (AdaLN blocks with a KV cache, l2-norm attention,
// guidance on [cond; uncond], top-k/top-p sampling, the multi-scale f_hat update, then the decoder), with the attention
// lines timed; peak RSS from getrusage.
function runTorch() {
  return runTorchVarD16(
    { reps, warmup, threads, gen: { label: GEN.labels[0], cfg: GEN.cfg, topK: GEN.topK, topP: GEN.topP, batch } },
    undefined,
    torchCoretype,
  );
}

// ------------------------------------------------------------------------------------------------------------ work
/** Multiply-adds ×2 of one d16 256-px generation of B images (CFG: 2B transformer rows), by stage. */
function flops(B) {
  const C = 1024,
    V = 4096,
    hidden = 4096,
    depth = 16,
    Cv = 32;
  const pns = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
  let dense = 0,
    attention = 0,
    L = 0;
  for (const pn of pns) {
    const rows = 2 * B * pn * pn;
    L += pn * pn;
    dense += depth * rows * 2 * (3 * C * C + C * C + 2 * C * hidden + (6 * C * C) / (pn * pn)) + rows * 2 * C * V;
    attention += depth * rows * 4 * L * C;
  }
  dense += B * 2 * Cv * Cv * 9 * 256 * 10; // the f_hat update's φ convolutions (upper bound: one per scale at 16²)
  // decoder (vae_ch160v4096z32): conv_in, mid (2 resnets, attention), up levels 4 … 0, conv_out
  const conv = (ci, co, k, hw) => 2 * ci * co * k * k * hw * hw;
  const resnet = (ci, co, hw) => conv(ci, co, 3, hw) + conv(co, co, 3, hw) + (ci !== co ? conv(ci, co, 1, hw) : 0);
  const attn = (c, hw) => conv(c, 3 * c, 1, hw) + conv(c, c, 1, hw) + 4 * (hw * hw) ** 2 * c;
  const ch = 160,
    mult = [1, 1, 2, 2, 4];
  let dec = conv(Cv, Cv, 3, 16) + conv(Cv, ch * 4, 3, 16) + 2 * resnet(ch * 4, ch * 4, 16) + attn(ch * 4, 16);
  let cin = ch * 4,
    hw = 16;
  for (let i = mult.length - 1; i >= 0; i--) {
    const co = ch * mult[i];
    for (let j = 0; j < 3; j++) {
      dec += resnet(cin, co, hw) + (i === mult.length - 1 ? attn(co, hw) : 0);
      cin = co;
    }
    if (i !== 0) {
      hw *= 2;
      dec += conv(co, co, 3, hw);
    }
  }
  dec += conv(ch, 3, 3, hw);
  return { dense, attention, decode: B * dec, total: dense + attention + B * dec };
}

// ------------------------------------------------------------------------------------------------------------ cold
/**
 * The VAR-d{depth} + VQ-VAE safetensors files (random weights, released shapes): in a temp dir removed afterwards, or
 * with --dir in that folder, kept, and reused by later runs (a d30 or d36 file is 8–9 GB: write it once).
 */
async function writeModelFiles() {
  const models = await import('@nextscale/core/models');
  const { writeSafetensors } = await import('@nextscale/core/weights');
  const keep = arg('--dir');
  const dir = keep ?? mkdtempSync(join(os.tmpdir(), 'nextscale-cold-'));
  mkdirSync(dir, { recursive: true });
  const files = {
    var: join(dir, `var_d${depth}.safetensors`),
    vae: join(dir, 'vae_ch160v4096z32.safetensors'),
    dir,
    keep: Boolean(keep),
  };
  const write = async (path, entries) => {
    if (existsSync(path)) return;
    process.stderr.write(`writing ${path}…\n`);
    await writeSafetensors(path, entries);
  };
  await write(files.var, models.randomVARStateDictEntries(models.releasedVARSpec(depth)));
  await write(files.vae, models.randomVQVAEStateDictEntries(models.releasedVQVAEConfig()));
  return files;
}

const CLI = fileURLToPath(new URL('../../packages/cli/bin/nextscale.js', import.meta.url));
const SCRIPTS_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * `nextscale generate` in a fresh process under /usr/bin/time: wall clock (start to exit, the PNG written) and peak RSS.
 * Engine id `onnx@base` runs the onnx engine from another checkout (--baseline ROOT: its CLI, its scripts/ as the cwd
 * so that it resolves its own engine packages), measured in the same run as this tree's.
 */
function runCold(id, files, n = reps) {
  const base = id.endsWith('@base');
  const baseRoot = base ? arg('--baseline') : null;
  if (base && !baseRoot) return { error: `${id} needs --baseline ROOT (a built checkout, e.g. /work/main)` };
  const engineId = id === 'onnx-split' ? 'onnx' : id.replace(/@base$/, '');
  const runs = [];
  for (let r = 0; r < n; r++) {
    const png = join(files.dir, `${engineId}-${r}.png`);
    const loadStart = os.loadavg()[0];
    const t0 = performance.now();
    const p = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        'maxrss %M cpu %U %S',
        process.execPath,
        base ? join(baseRoot, 'packages/cli/bin/nextscale.js') : CLI,
        'generate',
        '--var',
        files.var,
        '--vae',
        files.vae,
        '--engine',
        engineId,
        '-c',
        String(GEN.labels[0]),
        '--cfg',
        String(GEN.cfg),
        '--top-k',
        String(GEN.topK),
        '--top-p',
        String(GEN.topP),
        '--seed',
        String(r),
        '-o',
        png,
      ], // cwd: scripts/, a project with the engine packages installed (the CLI finds engines resolvable from its cwd)
      {
        cwd: base ? join(baseRoot, 'scripts') : SCRIPTS_DIR,
        encoding: 'utf8',
        env: {
          ...process.env,
          NEXTSCALE_THREADS: String(threads),
          ...(id === 'onnx-split' ? { NEXTSCALE_ONNX_FUSED_BLOCKS: '0' } : {}),
        },
        maxBuffer: 1 << 24,
      },
    );
    const wall = (performance.now() - t0) / 1000;
    const written = existsSync(png);
    rmSync(png, { force: true });
    if (p.status === 0 && !written) return { error: `exit 0 but no ${png}` };
    if (p.status !== 0) return { error: (p.stderr || p.stdout).trim().split('\n').slice(-3).join(' | ') };
    const [, rss, user, sys] = /maxrss (\d+) cpu ([\d.]+) ([\d.]+)/.exec(p.stderr) ?? [];
    runs.push({
      total: wall,
      maxRssMiB: Number(rss) / 1024,
      cpuS: Number(user) + Number(sys),
      loadStart,
      loadEnd: os.loadavg()[0],
    });
  }
  return {
    engine: {
      id,
      name: `nextscale generate --engine ${engineId}${id === 'onnx-split' ? ' (NEXTSCALE_ONNX_FUSED_BLOCKS=0)' : ''}${base ? ` (${baseRoot})` : ''}`,
    },
    runs,
    maxRssMiB: Math.max(...runs.map((x) => x.maxRssMiB)),
  };
}

function runTorchCold(files, n = reps) {
  const runs = [];
  let last;
  for (let r = 0; r < n; r++) {
    const loadStart = os.loadavg()[0];
    last = runTorchVarD16(
      {
        reps: 1,
        warmup: false,
        threads,
        gen: { label: GEN.labels[0], cfg: GEN.cfg, topK: GEN.topK, topP: GEN.topP, batch: 1 },
        files,
        depth,
      },
      undefined,
      torchCoretype,
    );
    if (last.error) return last;
    runs.push({
      total: last.wallS,
      maxRssMiB: last.maxRssMiB,
      readS: last.load,
      generate: last.runs[0].total,
      cpuS: last.cpuS,
      loadStart,
      loadEnd: os.loadavg()[0],
    });
  }
  return { ...last, runs, maxRssMiB: Math.max(...runs.map((x) => x.maxRssMiB)) };
}

async function coldMain() {
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  const wanted = String(arg('--engines', 'onnx,torch')).split(',');
  console.log(`machine: ${JSON.stringify(machine())}`);
  console.log(
    `cold: one d${depth} image from a fresh process, ${reps} run(s) each, ${threads} threads; ${JSON.stringify({ ...GEN, labels: GEN.labels.slice(0, 1) })}`,
  );
  const files = await writeModelFiles();
  // the memory target (#25): peak RSS at most 1.1× the weights (both files, float32) plus the KV cache (K and V of
  // every block for the CFG batch of 2 rows over all L tokens)
  const spec = (await import('@nextscale/core/models')).releasedVARSpec(depth);
  const L = spec.patchNums.reduce((a, p) => a + p * p, 0);
  const weightBytes = statSync(files.var).size + statSync(files.vae).size;
  const kvBytes = depth * 2 * 2 * L * spec.C * 4;
  const targetMiB = (1.1 * (weightBytes + kvBytes)) / 2 ** 20;
  console.log(
    `model files: ${(weightBytes / 1e9).toFixed(2)} GB (VAR-d${depth} + VQ-VAE), KV cache ${(kvBytes / 1e9).toFixed(2)} GB (L = ${L}); ` +
      `peak RSS target 1.1 × (weights + KV) = ${(targetMiB / 1024).toFixed(2)} GiB; free memory now ${(os.freemem() / 2 ** 30).toFixed(1)} GiB`,
  );
  const loadBefore = load();
  const results = {};
  try {
    if (wanted.includes('torch')) chooseTorchCoretype();
    // one run of each in turn, --reps rounds: a load that drifts during the bench then reaches every column alike
    for (let r = 0; r < reps; r++) {
      for (const id of wanted) {
        if (results[id]?.error) continue;
        process.stderr.write(`cold ${id}, round ${r + 1}…\n`);
        const one = id === 'torch' ? runTorchCold(files, 1) : runCold(id, files, 1);
        process.stderr.write(`${id}: ${JSON.stringify(one)}\n`);
        results[id] = one.error
          ? one
          : {
              ...one,
              runs: [...(results[id]?.runs ?? []), ...one.runs],
              maxRssMiB: Math.max(one.maxRssMiB, results[id]?.maxRssMiB ?? 0),
            };
      }
    }
  } finally {
    if (!files.keep) rmSync(files.dir, { recursive: true, force: true });
  }
  console.log(`load average (1, 5, 15 min): before ${loadBefore}, after ${load()}`);
  const t = results.torch && !results.torch.error ? median(results.torch.runs.map((x) => x.total)) : null;
  if (t)
    console.log(
      `torch: ${results.torch.engine.name}; OpenBLAS core ${results.torch.openblasCore}, chosen by ${torchCoretypeNote}; ` +
        `per run: reading the files ${results.torch.runs.map((x) => x.readS?.toFixed(1)).join(', ')} s, generating ${results.torch.runs.map((x) => x.generate.toFixed(1)).join(', ')} s`,
    );
  // ÷ target: peak RSS against 1.1 × (weights + KV) (#25: at most 1.00); load: the 1-minute load average at the start and
  // the end of each run (2 vCPUs: above 2, other work shared the cores and the wall clock stretched; CPU s does not)
  const HEAD = [
    'cold run (process start to done)',
    'median wall s',
    'runs',
    'median CPU s (user + sys)',
    'peak RSS GiB',
  ];
  console.log(
    `\n| ${[...HEAD, `÷ target (${(targetMiB / 1024).toFixed(2)} GiB)`, '÷ torch (wall)', 'load avg start → end'].join(' | ')} |`,
  );
  console.log(`|${'---|'.repeat(HEAD.length + 3)}`);
  for (const id of wanted) {
    const r = results[id];
    if (r.error) {
      console.log(`| ${id} | FAILED: ${r.error} |${' |'.repeat(HEAD.length + 1)}`);
      continue;
    }
    const m = median(r.runs.map((x) => x.total));
    const loads = r.runs.map((x) => `${x.loadStart.toFixed(1)} → ${x.loadEnd.toFixed(1)}`).join(', ');
    console.log(
      `| ${id}${id === 'torch' ? ' (build + load + generate)' : ' (CLI, PNG written)'} | ${m.toFixed(2)} | ${r.runs.map((x) => x.total.toFixed(1)).join(', ')} | ${r.runs[0].cpuS === undefined ? '' : median(r.runs.map((x) => x.cpuS)).toFixed(2)} | ${(r.maxRssMiB / 1024).toFixed(2)} | ${(r.maxRssMiB / targetMiB).toFixed(2)} | ${t ? (m / t).toFixed(2) : ''} | ${loads} |`,
    );
  }
  if (arg('--json'))
    writeFileSync(
      arg('--json'),
      JSON.stringify(
        { machine: machine(), loadBefore, GEN, threads, reps, cold: true, torchKernels: torchCoretypeNote, results },
        null,
        2,
      ),
    );
}
if (cold) {
  await coldMain();
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------------------ parent
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const wanted = String(arg('--engines', 'wasm,onnx,torch')).split(',');
console.log(`machine: ${JSON.stringify(machine())}`);
console.log(
  `generation: d16 random weights, 256 px, batch ${batch}, ${JSON.stringify(GEN)}; ${threads} threads everywhere; ` +
    `${reps} timed run(s)${warmup ? ' after one warm-up' : ', no warm-up (--quick)'}; nextscale's allocator: ${allocatorNote}; ` +
    `nextscale's model ${loadFrom === 'files' ? `loaded from safetensors files with loadVAR, as the CLI loads it, AdaLN weights ${adaLN === 'stream' ? 'streamed' : 'held (--adaln hold)'}` : 'built from state dicts in memory (--load memory)'}`,
);
const loadBefore = load();
const results = {};
if (wanted.includes('torch')) chooseTorchCoretype();
const files = loadFrom === 'files' && wanted.some((id) => id !== 'torch') ? await writeModelFiles() : undefined;
for (const id of wanted) {
  process.stderr.write(`timing ${id}…\n`);
  results[id] = id === 'torch' ? runTorch() : runChild(id, files);
  // each engine's raw result as soon as it is there (a long run cut short still leaves what it measured)
  process.stderr.write(`${id}: ${JSON.stringify(results[id])}\n`);
}
const loadAfter = load();
if (files && !files.keep) rmSync(files.dir, { recursive: true, force: true });
console.log(`load average (1, 5, 15 min): before ${loadBefore}, after ${loadAfter}`);
const ok = wanted.filter((id) => !results[id].error);
for (const id of wanted) {
  const r = results[id];
  if (r.error) console.log(`${id}: FAILED: ${r.error}`);
  else
    console.log(
      `${id}: ${r.engine.name}${r.build ? `; model built in ${r.build.toFixed(1)} s` : ''}; peak RSS ${(r.maxRssMiB / 1024).toFixed(2)} GiB` +
        (r.first ? `; warm-up run ${r.first.total.toFixed(2)} s` : '') +
        (r.openblasCore ? `; OpenBLAS core ${r.openblasCore}, chosen by ${torchCoretypeNote}` : ''),
    );
}
const STAGES = [
  ['transformer dense (all but attention; all of it with fused blocks)', 'dense'],
  ['transformer attention (KV-cached)', 'attention'],
  ['VQ-VAE decode', 'decode'],
  ['total', 'total'],
];
const med = (id, k) => median(results[id].runs.map((x) => x[k]));
const ratioCols = ok.filter((id) => id !== 'torch' && ok.includes('torch'));
console.log(`\n| stage (median s) | ${ok.join(' | ')} |${ratioCols.map((id) => ` ${id} ÷ torch |`).join('')}`);
console.log(`|---|${ok.map(() => '---|').join('')}${ratioCols.map(() => '---|').join('')}`);
for (const [label, k] of STAGES) {
  const cells = ok.map((id) =>
    k === 'attention' && results[id].runs[0].fused ? 'in dense (fused blocks)' : med(id, k).toFixed(2),
  );
  const ratios = ratioCols.map((id) =>
    k === 'attention' && results[id].runs[0].fused ? '—' : (med(id, k) / med('torch', k)).toFixed(2),
  );
  console.log(`| ${label} | ${cells.join(' | ')} |${ratios.map((x) => ` ${x} |`).join('')}`);
}
console.log(
  `| peak RSS GiB | ${ok.map((id) => (results[id].maxRssMiB / 1024).toFixed(2)).join(' | ')} |${ratioCols.map(() => ' |').join('')}`,
);
if (batch > 1)
  console.log(
    `| total per image (s) | ${ok.map((id) => (med(id, 'total') / batch).toFixed(2)).join(' | ')} |${ratioCols.map((id) => ` ${(med(id, 'total') / med('torch', 'total')).toFixed(2)} |`).join('')}`,
  );
const work = flops(batch);
console.log(
  `\nwork: ${Object.entries(work)
    .map(([k, v]) => `${k} ${(v / 1e9).toFixed(0)} GFLOP`)
    .join(', ')} (batch ${batch}); GFLOP/s (% of the ${peak} GFLOP/s peak):`,
);
console.log(`| stage | ${ok.join(' | ')} |\n|---|${ok.map(() => '---|').join('')}`);
for (const [label, k] of STAGES) {
  const fusedWork = (id) =>
    results[id].runs[0].fused ? { ...work, dense: work.dense + work.attention, attention: NaN } : work;
  console.log(
    `| ${label} | ${ok
      .map((id) => {
        const g = fusedWork(id)[k] / med(id, k) / 1e9;
        return Number.isFinite(g) ? `${g.toFixed(0)} (${((100 * g) / peak).toFixed(0)}%)` : 'in dense';
      })
      .join(' | ')} |`,
  );
}
if (arg('--json'))
  writeFileSync(
    arg('--json'),
    JSON.stringify(
      {
        machine: machine(),
        loadBefore,
        loadAfter,
        GEN,
        threads,
        reps,
        warmup,
        load: loadFrom,
        adaLN,
        peak,
        torchKernels: torchCoretypeNote,
        results,
      },
      null,
      2,
    ),
  );
