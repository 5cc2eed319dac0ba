import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, run, runJson, tempProject } from '../test-support.js';

interface EnginesDoc {
  engines: {
    engines: { id: string; package: string; priority: number; available: boolean; active: boolean }[];
    active: { id?: string; error?: string };
  };
}
const MODEL = ['--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--patch-nums', '1,2,3,4', '--class', '0'];

describe('dense engines in the CLI', () => {
  const p = tempProject();
  afterAll(() => p.cleanup());

  it("nextscale backends lists the engines found (the CLI's wasm, core's js) and the active one", () => {
    const { result, doc } = runJson<EnginesDoc>(['backends'], { cwd: p.dir, env: { NEXTSCALE_ENGINE: undefined } });
    expect(result.status, result.stderr).toBe(0);
    expect(doc.engines.engines.map((e) => [e.id, e.package, e.priority])).toEqual([
      ['wasm', '@nextscale/engine-wasm', 10],
      ['js', '@nextscale/core', 0],
    ]);
    expect(doc.engines.active.id).toBe('wasm');
    const js = runJson<EnginesDoc>(['backends', '--engine', 'js'], { cwd: p.dir });
    expect(js.doc.engines.engines.find((e) => e.active)?.id).toBe('js');
  });

  it('generate --json names the engine that ran; NEXTSCALE_ENGINE and config "engine" choose it, the flag wins', () => {
    const out = path.join(p.dir, 'e.png');
    writeFileSync(path.join(p.dir, 'nextscale.config.json'), JSON.stringify({ engine: 'js' }));
    const fromConfig = runJson<{ engine: { id: string; source: string } }>(['generate', ...MODEL, '-o', out], {
      cwd: p.dir,
      env: { NEXTSCALE_ENGINE: undefined },
    });
    expect(fromConfig.result.status, fromConfig.result.stderr).toBe(0);
    expect(fromConfig.doc.engine).toMatchObject({ id: 'js', source: 'config' });
    const fromEnv = runJson<{ engine: { id: string; source: string; threads: number } }>(
      ['generate', ...MODEL, '-o', out],
      {
        cwd: p.dir,
        env: { NEXTSCALE_ENGINE: 'wasm-pool', NEXTSCALE_THREADS: '2' },
      },
    );
    expect(fromEnv.doc.engine).toMatchObject({ id: 'wasm', source: 'env', threads: 2 });
    const fromFlag = runJson<{ engine: { id: string; source: string } }>(
      ['generate', ...MODEL, '-o', out, '--engine', 'js'],
      { cwd: p.dir, env: { NEXTSCALE_ENGINE: 'wasm' } },
    );
    expect(fromFlag.doc.engine).toMatchObject({ id: 'js', source: 'flag' });
  });

  it('an engine named but not installed exits 4 with one line naming the package', () => {
    const r = run(['generate', ...MODEL, '-o', path.join(p.dir, 'x.png'), '--engine', 'onnx'], { cwd: p.dir });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/install @nextscale\/engine-onnx/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
