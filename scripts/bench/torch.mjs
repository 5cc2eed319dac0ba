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
