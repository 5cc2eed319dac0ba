import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, PACKAGES, run, runJson, tempProject } from '../test-support.js';

const MODEL = ['--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--patch-nums', '1,2,3,4', '--class', '2'];

interface TraceDoc {
  trace: {
    policy: string;
    summary: Record<string, number>;
    entries: { site: string; backend: string; reason: string }[];
  };
  config: Record<string, { value: unknown; source: string }>;
}

describe('nextscale.config', () => {
  const projects: { cleanup(): void }[] = [];
  const project = (o?: Parameters<typeof tempProject>[0]) => {
    const p = tempProject(o);
    projects.push(p);
    return p;
  };
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it('names an unknown key in one line and exits 2', () => {
    const p = project();
    writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify({ backendz: ['x'] }));
    const r = run(['backends'], { cwd: p.dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^nextscale: nextscale\.config\.json: unknown key 'backendz' at top level — valid keys: backends, policy/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const j = runJson(['generate', ...MODEL], { cwd: p.dir });
    expect(j.result.status).toBe(2);
    expect(j.doc).toEqual({
      error: { code: 'E_CONFIG', message: "nextscale.config.json: unknown key 'backendz' at top level", exitCode: 2 },
    });
  });

  it('names nested keys and wrong types with their path', () => {
    const p = project();
    const file = path.join(p.dir, 'nextscale.config.json');
    writeFileSync(file, JSON.stringify({ policy: { name: 'norm', epsilonn: 0.1 } }));
    expect(run(['backends'], { cwd: p.dir }).stderr).toMatch(
      /nextscale\.config\.json: unknown key 'epsilonn' at policy/,
    );
    writeFileSync(file, JSON.stringify({ sampling: { topK: 'many' } }));
    expect(run(['backends'], { cwd: p.dir }).stderr).toMatch(
      /nextscale\.config\.json: sampling\.topK: .*expected number/,
    );
    writeFileSync(file, '{ "policy": ');
    const r = run(['backends'], { cwd: p.dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nextscale\.config\.json: not valid JSON/);
  });

  it('is found from the cwd upward, and --config / NEXTSCALE_CONFIG name one explicitly', () => {
    const p = project();
    writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify({ sampling: { seed: 11 } }));
    const sub = path.join(p.dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const up = runJson<TraceDoc>(['generate', '--print-config', ...MODEL], { cwd: sub });
    expect(up.doc.config.seed).toEqual({ value: 11, source: 'config' });
    const other = path.join(p.dir, 'other.mjs');
    writeFileSync(other, 'export default { sampling: { seed: 12 }, policy: { name: "priority", order: ["cpu"] } };\n');
    expect(
      runJson<TraceDoc>(['generate', '--print-config', '--config', other, ...MODEL], { cwd: sub }).doc.config.seed,
    ).toEqual({ value: 12, source: 'config' });
    const viaEnv = runJson<TraceDoc>(['generate', '--print-config', ...MODEL], {
      cwd: sub,
      env: { NEXTSCALE_CONFIG: other },
    });
    expect(viaEnv.doc.config.seed).toEqual({ value: 12, source: 'config' });
    expect(viaEnv.doc.config.order).toEqual({ value: ['cpu'], source: 'config' });
    const missing = run(['backends', '--config', path.join(p.dir, 'nope.json')], { cwd: sub });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/config file .*nope\.json does not exist/);
  });

  it('resolves model paths relative to the config file', () => {
    const p = project();
    symlinkSync(fixture('var.pth'), path.join(p.dir, 'v.pth'));
    symlinkSync(fixture('vae.pth'), path.join(p.dir, 'q.pth'));
    writeFileSync(
      path.join(p.dir, 'nextscale.config.mjs'),
      'export default { model: { var: "v.pth", vae: "q.pth", patchNums: [1, 2, 3, 4] } };\n',
    );
    const sub = path.join(p.dir, 'deeper');
    mkdirSync(sub);
    const r = runJson<{ files: { path: string }[] }>(['generate', '--class', '1', '--out', 'x.png'], { cwd: sub });
    expect(r.result.status, r.result.stderr).toBe(0);
    expect(r.doc.files[0].path).toBe(path.join(sub, 'x.png'));
  });

  it('switches the backend to a discovered lowrank package without touching code', () => {
    const p = project({ backends: ['lowrank'] });
    writeFileSync(
      path.join(p.dir, 'nextscale.config.json'),
      JSON.stringify({ backends: ['@nextscale/backend-lowrank'], policy: { name: 'explicit', backend: 'lowrank' } }),
    );
    const { result, doc } = runJson<TraceDoc>(['generate', ...MODEL, '--out', 'lowrank.png'], { cwd: p.dir });
    expect(result.status, result.stderr).toBe(0);
    expect(doc.config.policy).toEqual({ value: 'explicit', source: 'config' });
    expect(doc.trace.policy).toBe('explicit(lowrank)');
    expect(Object.keys(doc.trace.summary)).toEqual(['lowrank']);
    expect(
      doc.trace.entries.filter((e) => e.site.startsWith('var.blocks.')).every((e) => e.backend === 'lowrank'),
    ).toBe(true);
  });

  it('lets the norm policy consider a discovered lowrank backend and record why', () => {
    const p = project({ backends: ['lowrank'] });
    writeFileSync(
      path.join(p.dir, 'nextscale.config.json'),
      JSON.stringify({ policy: { name: 'norm', epsilon: 0.1 } }),
    );
    const { result, doc } = runJson<TraceDoc>(['generate', ...MODEL, '--out', 'norm.png'], { cwd: p.dir });
    expect(result.status, result.stderr).toBe(0);
    expect(doc.trace.policy).toMatch(/^norm/);
    const blocks = doc.trace.entries.filter((e) => e.site.startsWith('var.blocks.'));
    expect(blocks.length).toBeGreaterThan(0);
    // the tiny model's heads have β ≈ 4 > ln 30: the policy keeps them exact and says why
    for (const e of blocks) expect(e.reason).toMatch(/ln L|critical/);
    // flags beat the config: --backend lowrank forces it
    const forced = runJson<TraceDoc>(['generate', ...MODEL, '--out', 'forced.png', '--backend', 'lowrank'], {
      cwd: p.dir,
    });
    expect(forced.doc.trace.policy).toBe('explicit(lowrank)');
  });

  it("hands backendOptions to the backend's create(), and names an option for a backend that is not installed", () => {
    const p = project({ backends: ['gpu'] });
    const config = {
      backends: ['@nextscale/backend-gpu'],
      policy: { backend: 'gpu' },
      backendOptions: { gpu: { mode: 'headlessgl' } },
    };
    writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify(config));
    const shown = run(['generate', '--print-config', ...MODEL], { cwd: p.dir });
    expect(shown.stdout).toMatch(/backendOptions +\{"gpu":\{"mode":"headlessgl"\}\} +config/);
    // The forced mode reaches the gpu backend, which cannot run it here and says so.
    const forced = run(['generate', ...MODEL, '--out', 'gpu.png'], { cwd: p.dir });
    expect(forced.status).toBe(4);
    expect(forced.stderr).toMatch(/mode "headlessgl" requested but unavailable/);
    writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify({ backendOptions: { gpu2: {} } }));
    const typo = run(['generate', ...MODEL, '--out', 'typo.png'], { cwd: p.dir });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(
      /^nextscale: backendOptions names backend 'gpu2', which is not installed \(installed: (cpu, gpu|gpu, cpu)\) — npm i @nextscale\/backend-gpu2/,
    );
    expect(existsSync(path.join(p.dir, 'gpu.png')) || existsSync(path.join(p.dir, 'typo.png'))).toBe(false);
  });

  it("swaps in the gpu backend from the config alone, and its tokens equal the cpu backend's", () => {
    const p = project({ backends: ['gpu'] });
    const tokensWith = (config: object) => {
      writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify(config));
      const { result, doc } = runJson<TraceDoc & { tokens: { tokens: number[] }[] }>(
        ['generate', ...MODEL, '--out', 'swap.png'],
        { cwd: p.dir },
      );
      expect(result.status, result.stderr).toBe(0);
      return { tokens: doc.tokens.map((t) => t.tokens), summary: doc.trace.summary };
    };
    const gpu = tokensWith({
      backends: ['@nextscale/backend-gpu'],
      policy: { backend: 'gpu' },
      backendOptions: { gpu: { mode: 'webasm' } },
    });
    const cpu = tokensWith({ policy: { backend: 'cpu' } });
    expect(Object.keys(gpu.summary)).toEqual(['gpu']);
    expect(Object.keys(cpu.summary)).toEqual(['cpu']);
    expect(gpu.tokens).toEqual(cpu.tokens);
  });

  it("tunes the norm policy's cost model from the config: a large kappa makes low-rank worth it for the shipped model", () => {
    const p = project({ backends: ['lowrank'] });
    const lowrankSites = (kappa?: number) => {
      writeFileSync(
        path.join(p.dir, 'nextscale.config.json'),
        JSON.stringify({ policy: { name: 'norm', ...(kappa && { kappa }) } }),
      );
      const { result, doc } = runJson<TraceDoc>(['generate', '--class', '0', '--out', 'k.png'], { cwd: p.dir });
      expect(result.status, result.stderr).toBe(0);
      return doc.trace.entries.filter((e) => e.site.startsWith('var.blocks.') && e.backend === 'lowrank').length;
    };
    // Its heads are subcritical but, at the default kappa 0.5, low-rank is "not profitable" at L = 155.
    expect(lowrankSites()).toBe(0);
    expect(lowrankSites(100)).toBeGreaterThan(0);
    writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify({ policy: { gMax: 0 } }));
    const bad = run(['generate', '--class', '0', '--out', 'k.png'], { cwd: p.dir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/nextscale\.config\.json: policy\.gMax: /);
  });

  it('explains that a .ts config needs a loader on Node 20 when none is available', () => {
    const p = project();
    writeFileSync(
      path.join(p.dir, 'nextscale.config.ts'),
      'const config: { sampling: { seed: number } } = { sampling: { seed: 3 } };\nexport default config;\n',
    );
    const r = run(['generate', '--print-config', ...MODEL], { cwd: p.dir });
    if ((process.features as { typescript?: unknown }).typescript) {
      expect(r.status).toBe(0);
    } else {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(
        /nextscale\.config\.ts: Node v\d+.* cannot load a TypeScript config file .* — use nextscale\.config\.mjs or nextscale\.config\.json/,
      );
    }
  });

  it("loads a .ts config with the project's own typescript package", () => {
    const p = project();
    mkdirSync(path.join(p.dir, 'node_modules'), { recursive: true });
    symlinkSync(
      path.resolve(PACKAGES, '..', 'node_modules', 'typescript'),
      path.join(p.dir, 'node_modules', 'typescript'),
      'dir',
    );
    writeFileSync(
      path.join(p.dir, 'nextscale.config.ts'),
      'const seed: number = 3;\nexport default { sampling: { seed } };\n',
    );
    const r = runJson<TraceDoc>(['generate', '--print-config', ...MODEL], { cwd: p.dir });
    expect(r.result.status, r.result.stderr).toBe(0);
    expect(r.doc.config.seed).toEqual({ value: 3, source: 'config' });
  });
});
