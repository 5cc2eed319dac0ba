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
 * One run of the d16 program: spec = { reps, warmup, threads, gen: { label, cfg, topK, topP } }. Returns its JSON
 * output (engine, version, threads, first, runs, maxRssMiB) plus `python`, or { error }.
 */
export function runTorchVarD16(spec, py = findTorchPython()) {
  if (!py) return { error: NO_TORCH };
  const r = spawnSync(py, [TORCH_VAR_D16], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ') };
  return { python: py, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
}
