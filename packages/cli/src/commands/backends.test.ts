import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { run, runJson, tempProject } from '../test-support.js';

interface BackendsDoc {
  installed: {
    id: string;
    package: string;
    version: string;
    from: string;
    available: boolean;
    reason: string;
    capabilities: { masks: string[] };
  }[];
  notInstalled: { id: string; package: string; install: string }[];
}

describe('nextscale backends', () => {
  const empty = tempProject();
  const withLowrank = tempProject({ backends: ['lowrank'] });
  afterAll(() => {
    empty.cleanup();
    withLowrank.cleanup();
  });

  it("lists exactly cpu (the CLI's own dependency) in a project without backend packages", () => {
    const { result, doc } = runJson<BackendsDoc>(['backends'], { cwd: empty.dir });
    expect(result.status).toBe(0);
    expect(doc.installed.map((b) => b.id)).toEqual(['cpu']);
    const cpu = doc.installed[0];
    expect(cpu).toMatchObject({ package: '@nextscale/backend-cpu', from: 'cli', available: true });
    expect(cpu.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(cpu.capabilities.masks).toContain('block-causal');
    expect(doc.notInstalled.map((b) => b.install)).toEqual([
      'npm i @nextscale/backend-gpu',
      'npm i @nextscale/backend-lowrank',
    ]);
  });

  it('tells how to add the others in the text output', () => {
    const r = run(['backends'], { cwd: empty.dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^cpu\s+@nextscale\/backend-cpu@/m);
    expect(r.stdout).toContain('npm i @nextscale/backend-lowrank');
    expect(r.stdout).toContain('npm i @nextscale/backend-gpu');
    expect(r.stderr).toBe('');
  });

  it('discovers a backend package installed in the project', () => {
    const { result, doc } = runJson<BackendsDoc>(['backends'], { cwd: withLowrank.dir });
    expect(result.status).toBe(0);
    const lowrank = doc.installed.find((b) => b.package === '@nextscale/backend-lowrank');
    expect(lowrank?.from).toBe('project');
    expect(doc.notInstalled.map((b) => b.id)).not.toContain('lowrank');
  });

  it('loads only the packages named in the config file (plus cpu)', () => {
    writeFileSync(`${withLowrank.dir}/nextscale.config.json`, JSON.stringify({ backends: ['@nextscale/backend-gpu'] }));
    try {
      const { result, doc } = runJson<BackendsDoc & { missingFromConfig: { package: string }[] }>(['backends'], {
        cwd: withLowrank.dir,
      });
      expect(result.status).toBe(0);
      expect(doc.installed.map((b) => b.package)).toEqual(['@nextscale/backend-cpu']);
      expect(doc.missingFromConfig.map((m) => m.package)).toEqual(['@nextscale/backend-gpu']);
      expect(result.stderr).toMatch(/warning: backend package @nextscale\/backend-gpu .* is not installed/);
    } finally {
      rmSync(`${withLowrank.dir}/nextscale.config.json`);
    }
  });
});
