// The CPU kernels measured in one run against the plain TypeScript reference and, when python3 with torch is there,
// against PyTorch on the same shapes: GEMM (C = A·Bᵀ) at VAR's shapes, exact attention at L = 680 / 2240, d = 64.
// Medians over --reps runs (default 5) after a warm-up; ratios are of times (ours ÷ theirs, < 1 means we are faster).
//
// With --generation it also times a full d16-shaped generation at 256 px (random weights at the released shapes:
// 680 tokens with classifier-free guidance, then the VQ-VAE decoder) here and in a PyTorch model of the same shapes.
//
// Usage: pnpm build && node scripts/bench/wasm-vs-torch.mjs [--reps 5] [--threads N] [--quick] [--no-torch]
//          [--generation [--gen-reps 2] [--gen-ts]] [--json out.json]
//   (relaxed-SIMD FMA needs `node --experimental-wasm-relaxed-simd` on Node 20; it is measured when available)
// PyTorch: Debian's python3-torch with libopenblas0-pthread (`apt-get install -y python3-torch libopenblas0-pthread`);
// the script tries python3 on PATH, then /usr/bin/python3, and reports torch's version, threads and BLAS library.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { findTorchPython, runTorchVarD16 } from './torch.mjs';
import '@nextscale/backend-cpu/register';
import { Rng, Tensor, VARModel, selectEngine, setDenseEngine } from '@nextscale/core';
import { pyramidWork } from '@nextscale/core/attention';
import { activeEngineInfo } from '@nextscale/core/engines';
import { jsGemmEngine } from '@nextscale/core/ops';
import {
  RELEASED_PYRAMIDS,
  scaleEnds,
  randomVARStateDict,
  randomVQVAEStateDict,
  releasedVARSpec,
  releasedVQVAEConfig,
} from '@nextscale/core/models';
import '@nextscale/engine-wasm/register';
import { createWasmGemmEngine, detectWasmFeatures } from '@nextscale/engine-wasm';
import { createCpuAttention } from '@nextscale/backend-cpu';
import { machine, median } from '@nextscale/bench-utils';

// core computes on its TypeScript reference until an engine is chosen: pick the best installed one (the WebAssembly
// engine here; NEXTSCALE_ENGINE / NEXTSCALE_THREADS are honoured), as the CLI does.
setDenseEngine((await selectEngine()).engine);

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const flag = (name) => process.argv.includes(name);
const reps = Math.max(1, Number(arg('--reps', 5)));
const cores = os.availableParallelism?.() ?? os.cpus().length;
const threads = Number(arg('--threads', cores));
const quick = flag('--quick');

// tokens × 1024 × 4096 (a d16 MLP at 680 tokens), 256 × 1024 × 1024 (a projection), the attention products at L = 680
const GEMMS = [
  { m: 680, n: 4096, k: 1024, what: 'fc1: 680 tokens × 1024 → 4096' },
  { m: 680, n: 1024, k: 4096, what: 'fc2: 680 tokens × 4096 → 1024' },
  { m: 256, n: 1024, k: 1024, what: 'proj: 256 tokens × 1024 → 1024' },
  { m: 680, n: 680, k: 64, what: 'scores Q·Kᵀ: 680 × 680, d = 64' },
  { m: 680, n: 64, k: 680, what: 'P·V: 680 × 64 over 680 keys' },
  { m: 2, n: 4096, k: 1024, what: 'first scale (2 tokens with guidance)' },
];
const ATTENTION = [];
for (const L of [680, 2240]) {
  const ends = scaleEnds(RELEASED_PYRAMIDS[L]);
  ATTENTION.push({ L, d: 64, mask: 'none', ends: null });
  ATTENTION.push({ L, d: 64, mask: 'block-causal', ends });
}

function attentionFlops({ L, d, ends }) {
  return ends ? 4 * pyramidWork(ends) * d : 4 * L * L * d;
}

async function timeMedian(fn, n = reps) {
  await fn();
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

// ------------------------------------------------------------------------------------------- generation (ours)
/** Times `reps` d16 generations in this process and prints one JSON line (run as a child, per engine setting). */
async function generationChild(reps) {
  const spec = releasedVARSpec(16);
  const t0 = performance.now();
  const model = await VARModel.fromStateDicts(
    { tensors: randomVARStateDict(spec), metadata: {} },
    { tensors: randomVQVAEStateDict(releasedVQVAEConfig()) },
    { numHeads: spec.heads },
  );
  const build = (performance.now() - t0) / 1000;
  const runs = [];
  for (let r = 0; r < reps; r++) {
    let decodeAt = 0;
    const t1 = performance.now();
    await model.generate({
      labels: [207],
      cfg: 4,
      seed: r,
      onProgress: (e) => {
        if (e.stage === 'decode') decodeAt = performance.now();
      },
    });
    const t2 = performance.now();
    runs.push({
      total: (t2 - t1) / 1000,
      transformer: ((decodeAt || t2) - t1) / 1000,
      decode: (t2 - (decodeAt || t2)) / 1000,
    });
  }
  await model.dispose();
  console.log(JSON.stringify({ engine: activeEngineInfo().name, tokens: model.config.tokenCount, build, runs }));
}

if (flag('--gen-child')) {
  await generationChild(Number(arg('--gen-reps', 1)));
  process.exit(0);
}

function runGenerationChild(env, n) {
  const r = spawnSync(process.execPath, [process.argv[1], '--gen-child', '--gen-reps', String(n)], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { error: r.stderr.slice(-800) };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---------------------------------------------------------------------------------------------------------- ours
const rng = new Rng(0);
const feats = detectWasmFeatures();
const engines = [{ label: 'TS reference', engine: jsGemmEngine, slow: true }];
const wasm1 = createWasmGemmEngine({ threads: 1, relaxed: false });
engines.push({ label: 'wasm 1 thread', engine: wasm1 });
let wasmFma;
if (feats.relaxedSimd) {
  wasmFma = createWasmGemmEngine({ threads: 1, relaxed: true });
  engines.push({ label: 'wasm FMA 1 thread', engine: wasmFma });
}
const pool = createWasmGemmEngine({ threads });
await pool.ready();
engines.push({ label: `wasm ${threads} threads${pool.relaxed ? ' FMA' : ''}`, engine: pool, main: true });

const gemmRows = [];
for (const g of GEMMS) {
  const a = rng.normalArray(g.m * g.k);
  const b = rng.normalArray(g.n * g.k);
  const c = new Float32Array(g.m * g.n);
  const row = { ...g, flops: 2 * g.m * g.n * g.k, seconds: {} };
  for (const e of engines) {
    const n = e.slow && quick ? 1 : reps;
    row.seconds[e.label] = await timeMedian(() => e.engine.gemmNT(g.m, g.n, g.k, a, 0, g.k, b, 0, g.k, c, 0, g.n), n);
  }
  gemmRows.push(row);
  process.stderr.write(`gemm ${g.m}×${g.n}×${g.k} done\n`);
}

const kernels = [
  { label: 'TS reference (old kernel)', att: createCpuAttention({ kernel: 'js' }), slow: true },
  { label: 'wasm 1 thread', att: createCpuAttention({ kernel: 'wasm', threads: 1 }) },
  { label: `wasm ${threads} threads`, att: createCpuAttention({ kernel: 'wasm', threads }), main: true },
];
for (const kk of kernels) await kk.att.ready();
const attRows = [];
for (const spec of ATTENTION) {
  const [q, k, v] = [0, 1, 2].map(() => new Tensor([1, 1, spec.L, spec.d], rng.normalArray(spec.L * spec.d)));
  const mask = spec.ends ? { kind: 'block-causal', scaleEnds: spec.ends } : undefined;
  const row = { ...spec, flops: attentionFlops(spec), seconds: {} };
  for (const kk of kernels) {
    const n = kk.slow && quick ? 1 : reps;
    row.seconds[kk.label] = await timeMedian(() => kk.att.attend(q, k, v, { scale: 0.125, mask }), n);
  }
  attRows.push(row);
  process.stderr.write(`attention L=${spec.L} ${spec.mask} done\n`);
}
for (const kk of kernels) await kk.att.dispose();
await pool.dispose();

// ------------------------------------------------------------------------------------------------------- PyTorch
const TORCH = String.raw`
import json, sys, time, statistics
import torch
spec = json.load(sys.stdin)
out = {'version': torch.__version__, 'config': torch.__config__.show(), 'runs': []}
try:
    libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower() or 'lapack' in l.lower()})
except Exception:
    libs = []
out['blas_libraries'] = libs
def med(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
torch.manual_seed(0)
for nt in spec['threads']:
    torch.set_num_threads(nt)
    run = {'threads': torch.get_num_threads(), 'gemm': [], 'attention': []}
    with torch.no_grad():
        for g in spec['gemm']:
            A = torch.randn(g['m'], g['k']); B = torch.randn(g['n'], g['k']); C = torch.empty(g['m'], g['n'])
            run['gemm'].append(med(lambda: torch.mm(A, B.t(), out=C), spec['reps']))
        for a in spec['attention']:
            L, d = a['L'], a['d']
            q, k, v = (torch.randn(1, 1, L, d) for _ in range(3))
            bias = None
            if a['ends']:
                vis = torch.zeros(L, dtype=torch.long); s = 0
                for e in a['ends']:
                    vis[s:e] = e; s = e
                bias = torch.zeros(L, L).masked_fill(torch.arange(L)[None, :] >= vis[:, None], float('-inf'))
            def att():
                s = (q @ k.transpose(-1, -2)) * 0.125
                if bias is not None: s = s + bias
                return torch.softmax(s, dim=-1) @ v
            run['attention'].append(med(att, spec['reps']))
    out['runs'].append(run)
print(json.dumps(out))
`;

function runTorch() {
  if (flag('--no-torch')) return { skipped: '--no-torch' };
  const payload = JSON.stringify({
    reps,
    threads: [...new Set([1, threads])],
    gemm: GEMMS.map(({ m, n, k }) => ({ m, n, k })),
    attention: ATTENTION.map(({ L, d, ends }) => ({ L, d, ends })),
  });
  const py = findTorchPython();
  if (py) {
    const r = spawnSync(py, ['-c', TORCH], { input: payload, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) return { skipped: `${py} failed: ${r.stderr.slice(-500)}` };
    return { python: py, ...JSON.parse(r.stdout) };
  }
  return { skipped: 'no python3 with torch (apt-get install -y python3-torch libopenblas0-pthread)' };
}
process.stderr.write('running PyTorch…\n');
const torch = runTorch();

// The PyTorch d16 generation (scripts/bench/torch_var_d16.py, shared with engines-vs-torch.mjs): one 256-px image, the
// same shapes and loop, with this script's settings (cfg 4, top-k 900, top-p 0.96, no warm-up), one run per thread count.
function runTorchGeneration(py, n) {
  const r = runTorchVarD16(
    { reps: n, warmup: false, threads, gen: { label: 207, cfg: 4.0, topK: 900, topP: 0.96 } },
    py,
  );
  if (r.error) return r;
  return { version: r.version, runs: [{ threads: r.threads, gens: r.runs }] };
}

let generation = null;
if (flag('--generation')) {
  const n = Math.max(1, Number(arg('--gen-reps', 2)));
  process.stderr.write('timing d16 generations (wasm engine)…\n');
  generation = { wasm: runGenerationChild({}, n) };
  if (flag('--gen-ts')) {
    process.stderr.write('timing a d16 generation with NEXTSCALE_ENGINE=js (minutes)…\n');
    generation.ts = runGenerationChild({ NEXTSCALE_ENGINE: 'js' }, 1);
  }
  if (torch.python) {
    process.stderr.write('timing d16 generations in PyTorch…\n');
    generation.torch = runTorchGeneration(torch.python, n);
  }
}

// -------------------------------------------------------------------------------------------------------- report
const gf = (flops, s) => (flops / s / 1e9).toFixed(1);
const x = (a, b) => (a / b).toFixed(2);
const torchRuns = torch.runs ?? [];
const torchBy = (t) => torchRuns.find((r) => r.threads === t);
const t1 = torchBy(1);
const tN = torchBy(threads) ?? torchRuns[torchRuns.length - 1];

console.log(`## wasm kernels vs TypeScript vs PyTorch`);
console.log(
  `machine: ${JSON.stringify(machine())}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `wasm features: ${JSON.stringify(feats)}; median of ${reps} runs after one warm-up${quick ? ' (TS reference: 1 run)' : ''}`,
);
if (torch.skipped) console.log(`PyTorch: skipped (${torch.skipped})`);
else {
  const blas = /BLAS_INFO=([^,]*)/.exec(torch.config)?.[1];
  console.log(
    `PyTorch ${torch.version} (${torch.python}), threads ${torchRuns.map((r) => r.threads).join(' and ')}, BLAS_INFO=${blas}, loaded: ${torch.blas_libraries.join(' ') || 'n/a'}`,
  );
}

console.log(`\n### GEMM C = A·Bᵀ (m × n × k), GFLOP/s`);
const eLabels = engines.map((e) => e.label);
const tCols = torchRuns.map((r) => `torch ${r.threads}t`);
console.log(
  `| shape | ${[...eLabels, ...tCols].join(' | ')} | wasm ${threads}t ÷ TS (speed-up) | time ÷ torch ${threads}t | wasm 1t time ÷ torch 1t |`,
);
console.log(`|---|${[...eLabels, ...tCols].map(() => '---').join('|')}|---|---|---|`);
gemmRows.forEach((r, i) => {
  const ours = r.seconds[engines.find((e) => e.main).label];
  const cells = eLabels.map((l) => gf(r.flops, r.seconds[l]));
  const tc = torchRuns.map((run) => gf(r.flops, run.gemm[i]));
  const vsTs = x(r.seconds['TS reference'], ours);
  const vsTorch = tN ? x(ours, tN.gemm[i]) : 'n/a';
  const vsTorch1 = t1 ? x(r.seconds['wasm 1 thread'], t1.gemm[i]) : 'n/a';
  console.log(
    `| ${r.m}×${r.n}×${r.k} (${r.what}) | ${[...cells, ...tc].join(' | ')} | ${vsTs}× | ${vsTorch} | ${vsTorch1} |`,
  );
});

console.log(`\n### exact attention (B = H = 1, d = 64), milliseconds (GFLOP/s)`);
const kLabels = kernels.map((k) => k.label);
console.log(
  `| case | ${[...kLabels, ...tCols].join(' | ')} | new ${threads}t ÷ old (speed-up) | time ÷ torch ${threads}t | wasm 1t time ÷ torch 1t |`,
);
console.log(`|---|${[...kLabels, ...tCols].map(() => '---').join('|')}|---|---|---|`);
attRows.forEach((r, i) => {
  const ms = (s) => `${(s * 1000).toFixed(1)} (${gf(r.flops, s)})`;
  const ours = r.seconds[kernels.find((k) => k.main).label];
  const cells = kLabels.map((l) => ms(r.seconds[l]));
  const tc = torchRuns.map((run) => ms(run.attention[i]));
  const vsOld = x(r.seconds['TS reference (old kernel)'], ours);
  const vsTorch = tN ? x(ours, tN.attention[i]) : 'n/a';
  const vsTorch1 = t1 ? x(r.seconds['wasm 1 thread'], t1.attention[i]) : 'n/a';
  console.log(`| L=${r.L} ${r.mask} | ${[...cells, ...tc].join(' | ')} | ${vsOld}× | ${vsTorch} | ${vsTorch1} |`);
});

if (generation) {
  const med = (xs) => median(xs);
  const ours = generation.wasm;
  console.log(
    `\n### full d16-shaped generation at 256 px (1 image, guidance batch 2, 680 tokens, then the VQ-VAE decoder), seconds`,
  );
  console.log('| run | total | transformer | decoder |\n|---|---|---|---|');
  const line = (label, runs) =>
    console.log(
      `| ${label} | ${med(runs.map((r) => r.total)).toFixed(1)} | ${med(runs.map((r) => r.transformer)).toFixed(1)} | ${med(runs.map((r) => r.decode)).toFixed(1)} |`,
    );
  if (ours.error) console.log(`| ours | failed: ${ours.error.replace(/\n/g, ' ')} | | |`);
  else line(`ours, ${ours.engine} (median of ${ours.runs.length})`, ours.runs);
  if (generation.ts) {
    if (generation.ts.error) console.log(`| ours, NEXTSCALE_ENGINE=js | failed | | |`);
    else line(`ours, NEXTSCALE_ENGINE=js (${generation.ts.engine})`, generation.ts.runs);
  }
  const tg = generation.torch;
  if (tg?.error) console.log(`| PyTorch | failed: ${tg.error.replace(/\n/g, ' ')} | | |`);
  else if (tg)
    for (const run of tg.runs)
      line(`PyTorch ${tg.version}, ${run.threads} threads (median of ${run.gens.length})`, run.gens);
  if (!ours.error && tg && !tg.error) {
    const run = tg.runs[tg.runs.length - 1];
    const ratio = (key) => x(med(ours.runs.map((r) => r[key])), med(run.gens.map((g) => g[key])));
    console.log(
      `ours ÷ PyTorch ${run.threads}t: total ${ratio('total')}, transformer ${ratio('transformer')}, decoder ${ratio('decode')}`,
    );
  }
}

const jsonOut = arg('--json');
if (jsonOut) {
  writeFileSync(
    jsonOut,
    JSON.stringify(
      { machine: machine(), loadavg: os.loadavg(), feats, reps, threads, gemmRows, attRows, torch, generation },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${jsonOut}`);
}
