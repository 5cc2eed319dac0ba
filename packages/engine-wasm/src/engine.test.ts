import { createEngineRegistry, getDefaultEngineRegistry, selectEngine } from '@nextscale/core';
import { detectWasmFeatures } from '@nextscale/wasm-runtime';
import { testDenseEngine } from '@nextscale/core/testing';
import { describe, expect, it } from 'vitest';
import type { WasmDenseEngine } from './kernels/dense-engine.js';
import { engine, type WasmEngineOptions } from './engine.js';

const simd = detectWasmFeatures().simd;

describe('the engine-wasm descriptor', () => {
  it('probes available where WebAssembly SIMD is, with priority 10', async () => {
    expect(await engine.probe()).toMatchObject({ available: simd });
    expect(engine.priority).toBe(10);
  });

  it('/register puts it into the default registry; selection prefers it over js', async () => {
    await import('./register.js');
    expect(getDefaultEngineRegistry().get('wasm')).toBe(engine);
    const r = createEngineRegistry();
    r.register(engine);
    const s = await selectEngine({ registry: r, engine: undefined, threads: 1 });
    expect([s.descriptor.id, s.engine.id]).toEqual(['wasm', 'wasm']);
    expect(s.engine.name).toMatch(/^wasm-simd/);
  });

  it('create({ threads }) sizes the worker pool', async () => {
    const e = (await engine.create({ threads: 2 })) as Awaited<ReturnType<typeof engine.create>> & { threads: number };
    try {
      expect(e.threads).toBe(2);
      expect(e.name).toMatch(/-t2$/);
    } finally {
      await e.dispose?.();
    }
  });
});

testDenseEngine(() => engine.create({ threads: 1 }), { label: 'wasm, 1 thread' });
// every product split over both threads (parallelThreshold 0), workers up before the suite starts
testDenseEngine(
  async () => {
    const e = await engine.create({ threads: 2, parallelThreshold: 0 } as WasmEngineOptions);
    await (e as WasmDenseEngine).ready();
    return e;
  },
  { label: 'wasm, 2 threads' },
);
