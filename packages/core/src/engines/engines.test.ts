import { afterEach, describe, expect, it } from 'vitest';
import { naiveEngine } from '../testing/naive-engine.test-support.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { EngineUnavailableError, NextscaleError, UsageError } from '../errors.js';
import { conv2d } from '../ops/conv2d.js';
import { activeEngineInfo, getGemmEngine, jsGemmEngine, setElementwiseEngine, setGemmEngine, withReferenceEngine } from '../ops/engine.js';
import { linear } from '../ops/linear.js';
import { layerNorm } from '../ops/norm.js';
import { softmax } from '../ops/softmax.js';
import { geluTanh } from '../ops/activation.js';
import { loadVAR } from '../pipeline/load-var.js';
import { fixture, TINY_PATCH_NUMS } from '../models/var/test-support.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { ENGINE_API_VERSION, type DenseEngine, type DenseEngineDescriptor } from './contract.js';
import { jsDenseEngine, jsEngine } from './js.js';
import { createEngineRegistry, getDefaultEngineRegistry, packageForEngine } from '../plugs/registry.js';
import { selectEngine } from './select.js';
import { getDenseEngine, setDenseEngine } from '../ops/engine.js';

function descriptor(id: string, priority: number, extra: Partial<DenseEngineDescriptor> = {}): DenseEngineDescriptor {
  return {
    kind: 'engine',
    id,
    package: `@test/engine-${id}`,
    version: '1.0.0',
    apiVersion: ENGINE_API_VERSION,
    priority,
    probe: async () => ({ available: true, reason: 'test engine' }),
    create: async (o) => ({ ...naiveEngine(), id, name: `${id}-t${String(o?.threads ?? 'default')}` }),
    ...extra,
  };
}

const saved = { engine: getDenseEngine(), gemm: getGemmEngine() };
afterEach(() => {
  delete process.env.NEXTSCALE_ENGINE;
  delete process.env.NEXTSCALE_THREADS;
});

describe('engine registry', () => {
  it('holds core\'s js engine, lists highest priority first, and is one process-wide default', () => {
    const r = createEngineRegistry();
    expect(r.list()).toEqual([jsEngine]);
    r.register(descriptor('low', 5));
    r.register(descriptor('high', 20));
    expect(r.list().map((d) => d.id)).toEqual(['high', 'low', 'js']);
    expect(getDefaultEngineRegistry()).toBe(getDefaultEngineRegistry());
    expect(getDefaultEngineRegistry().get('js')).toBe(jsEngine);
  });

  it('registering the same descriptor twice is a no-op; another package under a taken id is an error naming both', () => {
    const r = createEngineRegistry();
    const d = descriptor('wasm', 10);
    r.register(d);
    r.register(d);
    expect(r.list()).toHaveLength(2);
    expect(() => r.register({ ...d, package: '@other/wasm', version: '2.0.0' })).toThrow(/already registered by @test\/engine-wasm@1\.0\.0; @other\/wasm@2\.0\.0/);
  });

  it('rejects descriptors of another API version or with missing fields', () => {
    const r = createEngineRegistry();
    expect(() => r.register({ ...descriptor('x', 1), apiVersion: 2 as unknown as 1 })).toThrow(/dense engine API v2, this core implements v1/);
    expect(() => r.register({ id: 'y' } as unknown as DenseEngineDescriptor)).toThrow(NextscaleError);
    // the one registry implementation serves both kinds, and each registry takes only its own
    expect(() => r.register({ ...descriptor('z', 1), kind: 'attention' } as unknown as DenseEngineDescriptor)).toThrow(/is a plug of kind "attention", not a dense engine/);
  });

  it('names the package of an engine id', () => {
    expect(packageForEngine('onnx')).toBe('@nextscale/engine-onnx');
    expect(packageForEngine('js')).toBe('@nextscale/core');
  });
});

describe('selectEngine', () => {
  it('with nothing named picks the highest-priority available engine, skipping unavailable ones', async () => {
    const r = createEngineRegistry();
    r.register(descriptor('mid', 10));
    r.register(descriptor('top', 30, { probe: async () => ({ available: false, reason: 'no native library' }) }));
    const s = await selectEngine({ registry: r });
    expect(s.descriptor.id).toBe('mid');
    expect(s.chosenBy).toBe('priority');
    // Not silent: the engine passed over is reported with its probe's reason.
    expect(s.skipped.map((k) => [k.descriptor.id, k.reason])).toEqual([['top', 'no native library']]);
    expect((await selectEngine({ registry: createEngineRegistry() })).engine).toBe(jsDenseEngine);
  });

  it('a named engine that is not installed is an EngineUnavailableError naming the package and the installed ones', async () => {
    const r = createEngineRegistry();
    r.register(descriptor('wasm', 10));
    const err = await selectEngine({ registry: r, engine: 'onnx' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as EngineUnavailableError).code).toBe('E_ENGINE_UNAVAILABLE');
    expect((err as EngineUnavailableError).packageName).toBe('@nextscale/engine-onnx');
    expect((err as Error).message).toMatch(/install @nextscale\/engine-onnx and import @nextscale\/engine-onnx\/register\); installed: \[wasm, js\]/);
  });

  it('a named engine whose probe fails is an error carrying the probe\'s reason, never another engine', async () => {
    const r = createEngineRegistry();
    r.register(descriptor('onnx', 20, { probe: async () => ({ available: false, reason: 'onnxruntime-node is not installed' }) }));
    await expect(selectEngine({ registry: r, engine: 'onnx' })).rejects.toThrow(/@test\/engine-onnx cannot run here: onnxruntime-node is not installed/);
    r.register(descriptor('boom', 5, { probe: async () => { throw new Error('kaput'); } }));
    await expect(selectEngine({ registry: r, engine: 'boom' })).rejects.toThrow(/probe\(\) threw: kaput/);
  });

  it('a create() failure is an EngineUnavailableError, and a later selection tries again', async () => {
    const r = createEngineRegistry();
    let fail = true;
    r.register(descriptor('flaky', 5, { create: async () => { if (fail) throw new Error('no memory'); return { ...naiveEngine(), id: 'flaky' }; } }));
    await expect(selectEngine({ registry: r, engine: 'flaky' })).rejects.toThrow(/creating dense engine "flaky" failed: no memory/);
    fail = false;
    expect((await selectEngine({ registry: r, engine: 'flaky' })).engine.id).toBe('flaky');
  });

  it('reads NEXTSCALE_ENGINE (wasm-pool an alias of wasm) and NEXTSCALE_THREADS, and reuses one engine per options', async () => {
    const r = createEngineRegistry();
    r.register(descriptor('wasm', 10));
    r.register(descriptor('onnx', 20));
    process.env.NEXTSCALE_ENGINE = 'wasm-pool';
    process.env.NEXTSCALE_THREADS = '3';
    const s = await selectEngine({ registry: r });
    expect([s.descriptor.id, s.engine.name, s.chosenBy]).toEqual(['wasm', 'wasm-t3', 'environment']);
    expect((await selectEngine({ registry: r })).engine).toBe(s.engine);
    expect((await selectEngine({ registry: r, engine: 'wasm', threads: 2 })).engine.name).toBe('wasm-t2');
    process.env.NEXTSCALE_ENGINE = 'onnx';
    expect((await selectEngine({ registry: r, engine: 'WASM' })).chosenBy).toBe('option');
    process.env.NEXTSCALE_THREADS = 'many';
    await expect(selectEngine({ registry: r })).rejects.toThrow(UsageError);
  });
});

describe('the active dense engine', () => {
  afterEach(() => {
    setDenseEngine(saved.engine);
    if (!saved.engine) setGemmEngine(saved.gemm);
  });

  function recording(): { engine: DenseEngine; calls: string[] } {
    const calls: string[] = [];
    const base = naiveEngine();
    const engine: DenseEngine = { ...base, id: 'rec', name: 'recording' };
    for (const k of ['gemmNT', 'linear', 'conv2d', 'layerNormRows', 'softmaxRows', 'geluTanh'] as const) {
      const f = base[k] as (...a: unknown[]) => void;
      (engine as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => {
        calls.push(k);
        f(...a);
      };
    }
    return { engine, calls };
  }

  it('ops dispatch to its fast paths and results match the reference', () => {
    const { engine, calls } = recording();
    const rng = new Rng(9);
    const x = new Tensor([3, 8], rng.normalArray(24));
    const w = new Tensor([5, 8], rng.normalArray(40));
    const b = new Tensor([5], rng.normalArray(5));
    const img = new Tensor([1, 2, 5, 5], rng.normalArray(50));
    const k = new Tensor([3, 2, 3, 3], rng.normalArray(54));
    const ref = withReferenceEngine(() => [linear(x, w, b), conv2d(img, k, null, { padding: 1 }), layerNorm(x, 1e-6), softmax(x), geluTanh(x)]);
    setDenseEngine(engine);
    expect(getDenseEngine()).toBe(engine);
    expect(activeEngineInfo()).toEqual({ id: 'rec', name: 'recording' });
    const got = [linear(x, w, b), conv2d(img, k, null, { padding: 1 }), layerNorm(x, 1e-6), softmax(x), geluTanh(x)];
    expect(calls).toEqual(['linear', 'conv2d', 'layerNormRows', 'softmaxRows', 'geluTanh']);
    for (let i = 0; i < got.length; i++) {
      for (let j = 0; j < got[i]!.data.length; j++) expect(got[i]!.data[j]).toBeCloseTo(ref[i]!.data[j]!, 4);
    }
  });

  it('asymmetric conv2d padding (Downsample2x) and absent fast paths run on the engine\'s gemmNT', () => {
    const { engine, calls } = recording();
    const { linear: _drop, ...withoutLinear } = engine;
    setDenseEngine({ ...withoutLinear, id: 'nolinear' });
    const rng = new Rng(2);
    conv2d(new Tensor([1, 2, 4, 4], rng.normalArray(32)), new Tensor([2, 2, 3, 3], rng.normalArray(36)), null, { stride: 2, padding: [0, 1, 0, 1] });
    linear(new Tensor([2, 3], rng.normalArray(6)), new Tensor([4, 3], rng.normalArray(12)));
    expect(calls).toEqual(['gemmNT', 'gemmNT']);
  });

  it('null restores the TypeScript reference; the older setters replace one slot each and report a custom mix', () => {
    const { engine, calls } = recording();
    setDenseEngine(engine);
    setGemmEngine(jsGemmEngine);
    expect(getDenseEngine()).toBeNull();
    linear(new Tensor([1, 2], Float32Array.of(1, 2)), new Tensor([1, 2], Float32Array.of(3, 4)));
    layerNorm(new Tensor([1, 2], Float32Array.of(1, 2)), 1e-6);
    expect(calls).toEqual(['layerNormRows']); // the linear fast path went with the GEMM; the row-wise kernels stayed
    expect(activeEngineInfo().id).toBe('custom');
    setElementwiseEngine(null);
    expect(activeEngineInfo()).toEqual({ id: 'js', name: jsGemmEngine.name });
    setDenseEngine(null);
    expect(getGemmEngine()).toBe(jsGemmEngine);
    expect(() => setDenseEngine({ id: 'x', name: 'x' } as unknown as DenseEngine)).toThrow(TypeError);
    expect(() => setDenseEngine({ ...naiveEngine(), linear: 3 } as unknown as DenseEngine)).toThrow(/linear that is not a function/);
  });
});

describe('loadVAR({ engine })', () => {
  afterEach(() => {
    setDenseEngine(saved.engine);
    if (!saved.engine) setGemmEngine(saved.gemm);
  });
  const registry = createExactTestRegistry();
  const paths = { var: fixture('var.safetensors'), vae: fixture('vae.safetensors'), patchNums: TINY_PATCH_NUMS, registry };

  it('selects and activates the named engine, and the model reports it', async () => {
    const engines = createEngineRegistry();
    engines.register(descriptor('naive', 10));
    const model = await loadVAR({ ...paths, engine: 'naive', engineRegistry: engines, threads: 2 });
    try {
      expect(model.engine).toEqual({ id: 'naive', name: 'naive-t2' });
      expect(getDenseEngine()?.id).toBe('naive');
    } finally {
      await model.dispose();
    }
  });

  it('an engine named but not installed fails the load with EngineUnavailableError', async () => {
    await expect(loadVAR({ ...paths, engine: 'onnx', engineRegistry: createEngineRegistry() })).rejects.toThrow(EngineUnavailableError);
  });

  it('an engine object is used as is', async () => {
    const model = await loadVAR({ ...paths, engine: jsDenseEngine });
    try {
      expect(model.engine).toEqual({ id: 'js', name: jsGemmEngine.name });
    } finally {
      await model.dispose();
    }
  });
});
