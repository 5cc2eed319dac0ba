import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsGemmEngine, setGemmEngine } from '../ops/engine.js';
import { defaultEngineOptions } from './default.js';
import { defaultThreads } from './runtime.js';

describe('default engine selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    setGemmEngine(null);
  });

  it('follows NEXTSCALE_ENGINE', () => {
    vi.stubEnv('NEXTSCALE_ENGINE', 'js');
    expect(defaultEngineOptions()).toBeNull();
    vi.stubEnv('NEXTSCALE_ENGINE', 'wasm');
    expect(defaultEngineOptions()).toEqual({ threads: 1 });
    expect(defaultThreads()).toBe(1);
    vi.stubEnv('NEXTSCALE_ENGINE', '');
    expect(defaultEngineOptions()).toEqual({});
    vi.stubEnv('NEXTSCALE_ENGINE', 'onnx'); // another engine's id: left to selectEngine / loadVAR
    expect(defaultEngineOptions()).toBeNull();
  });

  it('sizes the pool from NEXTSCALE_THREADS, else the cores', () => {
    vi.stubEnv('NEXTSCALE_THREADS', '3');
    expect(defaultThreads()).toBe(3);
    vi.stubEnv('NEXTSCALE_THREADS', 'many');
    expect(() => defaultThreads()).toThrow(/NEXTSCALE_THREADS=many/);
    vi.stubEnv('NEXTSCALE_THREADS', '');
    expect(defaultThreads()).toBeGreaterThanOrEqual(1);
  });

  it('importing core installs the wasm engine; NEXTSCALE_ENGINE=js keeps the TypeScript one; a bad thread count only warns', async () => {
    vi.stubEnv('NEXTSCALE_ENGINE', ''); // the default, whatever this run was started with
    vi.resetModules();
    const core = await import('../index.js');
    expect(core.getGemmEngine().name).toMatch(/^wasm-simd/);
    core.setGemmEngine(null);
    expect(core.getGemmEngine()).toBe(core.jsGemmEngine);

    vi.stubEnv('NEXTSCALE_ENGINE', 'js');
    vi.resetModules();
    expect((await import('../index.js')).getGemmEngine().name).toBe(jsGemmEngine.name);

    vi.stubEnv('NEXTSCALE_ENGINE', '');
    vi.stubEnv('NEXTSCALE_THREADS', 'many');
    vi.resetModules();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect((await import('../index.js')).getGemmEngine().name).toBe(jsGemmEngine.name);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/NEXTSCALE_THREADS=many/));
    } finally {
      warn.mockRestore();
    }
  });
});

describe('embedded binaries', () => {
  it('are up to date with assembly/*.ts (scripts/build-wasm.mjs --check)', () => {
    const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });
});
