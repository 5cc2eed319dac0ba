import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getGemmEngine, jsGemmEngine, setGemmEngine } from '../ops/engine.js';
import { defaultEngineOptions } from './default.js';

describe('default engine selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    setGemmEngine(null);
  });

  it('follows NEXTSCALE_ENGINE and NEXTSCALE_THREADS', () => {
    vi.stubEnv('NEXTSCALE_ENGINE', 'js');
    expect(defaultEngineOptions()).toBeNull();
    vi.stubEnv('NEXTSCALE_ENGINE', 'wasm');
    expect(defaultEngineOptions()).toEqual({ threads: 1 });
    vi.stubEnv('NEXTSCALE_ENGINE', '');
    expect(defaultEngineOptions()).toEqual({});
    vi.stubEnv('NEXTSCALE_THREADS', '3');
    expect(defaultEngineOptions()).toEqual({ threads: 3 });
    vi.stubEnv('NEXTSCALE_THREADS', 'many');
    expect(() => defaultEngineOptions()).toThrow(/NEXTSCALE_THREADS/);
    vi.stubEnv('NEXTSCALE_ENGINE', 'gpu');
    expect(() => defaultEngineOptions()).toThrow(/NEXTSCALE_ENGINE=gpu/);
  });

  it('importing core installs the wasm engine, unless NEXTSCALE_ENGINE=js', async () => {
    setGemmEngine(null);
    vi.resetModules();
    const core = await import('../index.js');
    expect(core.getGemmEngine().name).toMatch(/^wasm-simd/);
    // the module instance this test file imported shares the registry only if not reset; check through core's exports
    core.setGemmEngine(null);
    expect(core.getGemmEngine()).toBe(core.jsGemmEngine);
    vi.stubEnv('NEXTSCALE_ENGINE', 'js');
    vi.resetModules();
    const plain = await import('../index.js');
    expect(plain.getGemmEngine().name).toBe(jsGemmEngine.name);
    expect(getGemmEngine()).toBe(jsGemmEngine);
  });
});

describe('embedded binaries', () => {
  it('are up to date with assembly/*.ts (scripts/build-wasm.mjs --check)', () => {
    const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });
});
