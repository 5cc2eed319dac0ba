import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, runJson, tempProject } from '../test-support.js';

interface BenchDoc {
  rows: { backend: string; L: number; path: string; seconds: number; gflops: number; runs: number; skipped?: string }[];
  files: string[];
  machine: Record<string, unknown>;
}

describe('nextscale bench', () => {
  const p = tempProject();
  const withLowrank = tempProject({ backends: ['lowrank'] });
  afterAll(() => {
    p.cleanup();
    withLowrank.cleanup();
  });

  it('measures every available backend at a VAR shape and writes a markdown table and an SVG plot', () => {
    const { result, doc } = runJson<BenchDoc>(['bench', '--lengths', '680', '--reps', '1'], { cwd: p.dir });
    expect(result.status, result.stderr).toBe(0);
    expect(doc.rows.map((r) => `${r.backend} ${r.L} ${r.path}`)).toEqual(['cpu 680 one-shot', 'cpu 680 kv-state']);
    for (const r of doc.rows) {
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.gflops).toBeGreaterThan(0);
      expect(r.runs).toBe(1);
    }
    const dir = path.join(p.dir, 'bench-results');
    expect(doc.files.sort()).toEqual(['attention.json', 'attention.md', 'attention.svg'].map((f) => path.join(dir, f)));
    expect(readFileSync(path.join(dir, 'attention.md'), 'utf8')).toMatch(
      /^\| cpu \| exact \| 680 \| one-shot \| [\d.]+ \| [\d.]+ \|/m,
    );
    expect(readFileSync(path.join(dir, 'attention.svg'), 'utf8')).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\n$/,
    );
  });

  it('says clearly that --scaling needs the lowrank package, before measuring anything', () => {
    const r = run(['bench', '--scaling', '--lengths', '680', '--reps', '1', '--out', 'scaling-out'], { cwd: p.dir });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(
      /^nextscale: the scaling study needs @nextscale\/backend-lowrank, which is not installed — npm i @nextscale\/backend-lowrank/,
    );
    expect(existsSync(path.join(p.dir, 'scaling-out'))).toBe(false);
  });

  it('rejects an unknown length or backend', () => {
    expect(run(['bench', '--lengths', '1000'], { cwd: p.dir }).status).toBe(2);
    const r = run(['bench', '--backends', 'gpu2'], { cwd: p.dir });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/'gpu2' is not installed — npm i @nextscale\/backend-gpu2/);
  });

  it('benchmarks a discovered lowrank backend side by side with cpu', () => {
    const { result, doc } = runJson<BenchDoc>(
      ['bench', '--lengths', '680', '--reps', '1', '--backends', 'cpu,lowrank'],
      { cwd: withLowrank.dir },
    );
    expect(result.status, result.stderr).toBe(0);
    expect([...new Set(doc.rows.map((r) => r.backend))].sort()).toEqual(['cpu', 'lowrank']);
  });

  it('runs the low-rank scaling study shipped by the lowrank package and writes its table and plot', () => {
    const { result, doc } = runJson<BenchDoc>(
      ['bench', '--scaling', '--quick', '--lengths', '680', '--reps', '1', '--backends', 'cpu', '--out', 'study'],
      { cwd: withLowrank.dir },
    );
    expect(result.status, result.stderr).toBe(0);
    const dir = path.join(withLowrank.dir, 'study');
    for (const f of ['scaling.md', 'scaling.svg']) expect(doc.files, f).toContain(path.join(dir, f));
    expect(readFileSync(path.join(dir, 'scaling.md'), 'utf8')).toMatch(/\|/);
    expect(readFileSync(path.join(dir, 'scaling.svg'), 'utf8')).toMatch(/<svg/);
  });

  it("--calibrate measures the norm policy's break-even kappa with the lowrank package's script, and says where to put it", () => {
    const missing = run(['bench', '--calibrate', '--lengths', '680', '--reps', '1', '--out', 'k0'], { cwd: p.dir });
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(
      /^nextscale: the κ calibration needs @nextscale\/backend-lowrank, which is not installed/,
    );
    const text = run(
      ['bench', '--calibrate', '--quick', '--lengths', '680', '--reps', '1', '--backends', 'cpu', '--out', 'kappa'],
      { cwd: withLowrank.dir },
    );
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /norm policy break-even κ\* = [\d.]+ on this machine \(median of 4 cases; the default is 0\.5\): put "policy": \{ "kappa": [\d.]+ \}/,
    );
    const doc = JSON.parse(readFileSync(path.join(withLowrank.dir, 'kappa', 'kappa.json'), 'utf8')) as {
      kappaStar: number;
      rows: { kappa: number }[];
    };
    expect(doc.rows).toHaveLength(4);
    expect(doc.kappaStar).toBeGreaterThan(0);
    expect(doc.kappaStar).toBe([...doc.rows.map((r) => r.kappa)].sort((a, b) => a - b)[2]);
  });
});
