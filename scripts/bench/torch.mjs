// Runs the PyTorch d16 baseline (scripts/bench/torch_var_d16.py, the one copy both torch benchmarks use) with a python
// that has torch: python3 on PATH may be a pyenv shim without it, so /usr/bin/python3 (Debian's python3-torch) is tried
// too, and the first that imports torch is used.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TORCH_VAR_D16 = fileURLToPath(new URL('./torch_var_d16.py', import.meta.url));
const NO_TORCH = 'no python3 with torch (apt-get install -y python3-torch libopenblas0-pthread)';

/** The first python that imports torch, or null. */
export function findTorchPython() {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

/**
 * The environment for the PyTorch process: OpenBLAS picks its best kernel for this CPU. This machine's environment may
 * set OPENBLAS_CORETYPE (e.g. Haswell: AVX2 kernels at ~1/3 of the AVX-512 speed) and OPENBLAS_L2_SIZE; a fair
 * baseline unsets both for this process only, and OPENBLAS_VERBOSE=2 makes OpenBLAS print the core it chose.
 */
export function torchEnv(base = process.env, coretype = undefined) {
  const env = { ...base, OPENBLAS_VERBOSE: '2' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (coretype) env.OPENBLAS_CORETYPE = coretype; // an explicit choice (--torch-coretype), printed with the results
  return env;
}

// About a second of PyTorch's linear layers at d16's shapes (the CFG rows of the 16² scale, 1024 → 4096 and back), on
// OpenBLAS's kernels for one core type: its GFLOP/s, with the core OpenBLAS says it ran.
const PROBE = `
import sys, time, json, torch
import torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1])); torch.manual_seed(0)
x = torch.randn(512, 1024); w1 = torch.randn(4096, 1024); w2 = torch.randn(1024, 4096)
step = lambda: F.linear(F.linear(x, w1), w2)
step(); n = 0; t0 = time.perf_counter()
while n < 3 or time.perf_counter() - t0 < 1.0: step(); n += 1
print(json.dumps(dict(gflops=n * 4 * 512 * 1024 * 4096 / (time.perf_counter() - t0) / 1e9)))
`;

/** The OpenBLAS core types the best-kernel probe tries besides OpenBLAS's own choice. */
export const TORCH_CORETYPES = ['SkylakeX', 'Haswell'];

/**
 * PyTorch's fastest OpenBLAS kernel on this machine: OpenBLAS's own choice (OPENBLAS_CORETYPE unset) and each of
 * TORCH_CORETYPES timed by PROBE in its own process, `rounds` times (the median counts; a core type the CPU lacks dies
 * with SIGILL: recorded, not used; a forced type must beat the one before it in that list by 3%). Returns { coretype (undefined: OpenBLAS's own choice), probes: [{ coretype, core,
 * gflops, runs } | { coretype, core, error }] }.
 */
export function bestTorchCoretype(threads, py = findTorchPython(), rounds = 3) {
  if (!py) return { error: NO_TORCH, probes: [] };
  const probes = [undefined, ...TORCH_CORETYPES].map((coretype) => ({ coretype, core: 'not printed', runs: [] }));
  // rounds alternate the core types, so a load that comes and goes on a shared machine touches each alike
  for (let round = 0; round < rounds; round++) {
    for (const p of probes) {
      if (p.error) continue;
      const r = spawnSync(py, ['-c', PROBE, String(threads)], {
        encoding: 'utf8',
        env: torchEnv(process.env, p.coretype),
      });
      p.core = /Core:\s*(\S+)/.exec(r.stderr ?? '')?.[1] ?? p.core;
      if (r.status === 0) p.runs.push(JSON.parse(r.stdout.trim().split('\n').pop()).gflops);
      else
        p.error = r.signal
          ? `killed by ${r.signal}${r.signal === 'SIGILL' ? ' (this CPU lacks its instructions)' : ''}`
          : (r.stderr || r.stdout).trim().split('\n').pop();
    }
  }
  for (const p of probes) if (!p.error) p.gflops = p.runs.sort((a, b) => a - b)[p.runs.length >> 1];
  // OpenBLAS's own choice unless a forced core type is clearly faster (3%: the probe's noise on a quiet machine)
  const ok = probes.filter((p) => p.gflops);
  const best = ok.reduce((a, b) => (b.gflops > a.gflops * 1.03 ? b : a), ok[0]);
  return { coretype: best?.coretype, probes };
}

/** One line per probe, e.g. "OpenBLAS's own choice (Zen) 95 GFLOP/s; SkylakeX: killed by SIGILL (…)". */
export function describeProbes(probes) {
  return probes
    .map(
      (p) =>
        `${p.coretype ? `OPENBLAS_CORETYPE=${p.coretype}` : `OpenBLAS's own choice`} (${p.core}): ${p.error ?? `${p.gflops.toFixed(0)} GFLOP/s (median of ${p.runs.map((g) => g.toFixed(0)).join(', ')})`}`,
    )
    .join('; ');
}

/**
 * One run of the d16 program: spec = { reps, warmup, threads, gen: { label, cfg, topK, topP, batch }, files? }.
 * Returns its JSON output (engine, version, threads, first, runs, load, maxRssMiB) plus `python`, the OpenBLAS core it
 * ran (`openblasCore`, from OPENBLAS_VERBOSE) and the process's wall clock `wallS` (start to exit), or { error }.
 */
export function runTorchVarD16(spec, py = findTorchPython(), coretype = undefined) {
  if (!py) return { error: NO_TORCH };
  const t0 = performance.now();
  const r = spawnSync(py, [TORCH_VAR_D16], {
    input: JSON.stringify(spec),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: torchEnv(process.env, coretype),
  });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  const openblasCore = /Core:\s*(\S+)/.exec(r.stderr ?? '')?.[1] ?? 'not printed';
  return { python: py, openblasCore, wallS, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
}
