/**
 * The GPU-machine check (device/check.mjs, bundled by device/pack.mjs) run here on Dawn's software
 * GL ES adapter: it must run the shared suite on the WebGPU kernels, report failures as failures, time
 * both backends, and refuse a software adapter unless asked. On a real GPU it runs via device/run.sh.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCheckBundle } from '../device/pack.mjs';

// Inside the package so that the bundle resolves the 'webgpu' dev dependency at run time.
const bundle = fileURLToPath(new URL('../dist-device/check.mjs', import.meta.url));
const dawnOnMesa = {
  ...process.env,
  NEXTSCALE_DAWN_FLAGS: 'backend=opengles',
  NEXTSCALE_WEBGPU_FEATURE_LEVEL: 'compatibility',
  EGL_PLATFORM: 'surfaceless',
};
const check = (...args: string[]) =>
  spawnSync(process.execPath, [bundle, ...args], { env: dawnOnMesa, encoding: 'utf8', timeout: 120_000 });

beforeAll(async () => {
  await buildCheckBundle(bundle);
});

describe('device check (bundled, outside vitest)', () => {
  it('runs the shared suite on the WebGPU kernels, times gpu against cpu, and writes the report', () => {
    const out = mkdtempSync(join(os.tmpdir(), 'gpu-check-'));
    const run = check('--allow-software', '--lengths', '30', '--heads', '1', '--reps', '1', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8'));
    expect(report.conformance).toHaveLength(1);
    expect(report.conformance[0]).toMatchObject({ mode: 'webgpu', executor: 'fused-encoder', failed: [] });
    expect(report.conformance[0].adapter).toMatch(/llvmpipe/);
    expect(report.conformance[0].passed).toBeGreaterThanOrEqual(15);
    expect(report.bench.map((r: { name: string; mask: string }) => `${r.name} ${r.mask}`)).toEqual([
      'cpu block-causal',
      'gpu block-causal',
      'cpu none',
      'gpu none',
    ]);
    for (const row of report.bench) expect(row.seconds).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'gpu-check.md'), 'utf8')).toContain('| gpu | webgpu (llvmpipe');
    expect(run.stdout).toMatch(/all conformance tests passed/);
  });

  it('reports failing conformance tests and exits 1', () => {
    const run = check('--allow-software', '--lengths', '30', '--heads', '1', '--reps', '1', '--tolerance', '0');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/- FAILED \[webgpu\] .*matches the float64 reference/);
    expect(run.stdout).toMatch(/\d+ conformance test\(s\) FAILED/);
  });

  it("says to install the optional 'webgpu' package where Node cannot resolve it, and exits 2", () => {
    const alone = join(mkdtempSync(join(os.tmpdir(), 'gpu-check-alone-')), 'check.mjs');
    copyFileSync(bundle, alone);
    const run = spawnSync(process.execPath, [alone, '--lengths', '30'], {
      env: dawnOnMesa,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /mode webgpu cannot be checked here: Node has no WebGPU API: install the optional package 'webgpu'/,
    );
  });

  it('refuses a software adapter unless asked, with the reason, and exits 2', () => {
    const run = check('--lengths', '30');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /mode webgpu cannot be checked here: adapter ".*llvmpipe.*" is a software fallback \(pass --allow-software/,
    );
  });
});
