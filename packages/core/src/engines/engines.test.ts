import { afterEach, describe, expect, it } from 'vitest';
import { naiveEngine } from '../testing/naive-engine.test-support.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { EngineUnavailableError, NextscaleError, UsageError } from '../errors.js';
import { conv2d } from '../ops/conv2d.js';
import { jsGemmEngine } from '../ops/gemm.js';
import { linear } from '../ops/linear.js';
import { layerNorm } from '../ops/norm.js';
import { softmax } from '../ops/softmax.js';
import { geluTanh } from '../ops/activation.js';
import { recordFeatureNet, eagerFeatureOps, type FeatureBuild } from '../ops/feature-net.js';
import { loadVAR } from '../pipeline/load-var.js';
import { fixture, TINY_PATCH_NUMS } from '../models/var/test-support.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { ENGINE_API_VERSION, type DenseEngine, type DenseEngineDescriptor } from './contract.js';
import { jsDenseEngine, jsEngine } from './js.js';
import { createEngineRegistry, getDefaultEngineRegistry, packageForEngine } from '../plugs/registry.js';
import { selectEngine } from './select.js';
import { activeEngineInfo, getDenseEngine, setDenseEngine, withReferenceEngine } from './active.js';
import * as onEngine from './calls.js';

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

const saved = getDenseEngine();
afterEach(() => {
  delete process.env.NEXTSCALE_ENGINE;
  delete process.env.NEXTSCALE_THREADS;
});

describe('engine registry', () => {
  it("holds core's js engine, lists highest priority first, and is one process-wide default", () => {
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
    expect(() => r.register({ ...d, package: '@other/wasm', version: '2.0.0' })).toThrow(
      /already registered by @test\/engine-wasm@1\.0\.0; @other\/wasm@2\.0\.0/,
    );
  });

  it('rejects descriptors of another API version or with missing fields', () => {
    const r = createEngineRegistry();
    expect(() => r.register({ ...descriptor('x', 1), apiVersion: 2 as unknown as 1 })).toThrow(
      /dense engine API v2, this core implements v1/,
    );
    expect(() => r.register({ id: 'y' } as unknown as DenseEngineDescriptor)).toThrow(NextscaleError);
    // the one registry implementation serves both kinds, and each registry takes only its own
    expect(() => r.register({ ...descriptor('z', 1), kind: 'attention' } as unknown as DenseEngineDescriptor)).toThrow(
      /is a plug of kind "attention", not a dense engine/,
    );
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
    expect((err as Error).message).toMatch(
      /install @nextscale\/engine-onnx and import @nextscale\/engine-onnx\/register\); installed: \[wasm, js\]/,
    );
  });

  it("a named engine whose probe fails is an error carrying the probe's reason, never another engine", async () => {
    const r = createEngineRegistry();
    r.register(
      descriptor('onnx', 20, {
        probe: async () => ({ available: false, reason: 'onnxruntime-node is not installed' }),
      }),
    );
    await expect(selectEngine({ registry: r, engine: 'onnx' })).rejects.toThrow(
      /@test\/engine-onnx cannot run here: onnxruntime-node is not installed/,
    );
    r.register(
      descriptor('boom', 5, {
        probe: async () => {
          throw new Error('kaput');
        },
      }),
    );
    await expect(selectEngine({ registry: r, engine: 'boom' })).rejects.toThrow(/probe\(\) threw: kaput/);
  });

  it('a create() failure is an EngineUnavailableError, and a later selection tries again', async () => {
    const r = createEngineRegistry();
    let fail = true;
    r.register(
      descriptor('flaky', 5, {
        create: async () => {
          if (fail) throw new Error('no memory');
          return { ...naiveEngine(), id: 'flaky' };
        },
      }),
    );
    await expect(selectEngine({ registry: r, engine: 'flaky' })).rejects.toThrow(
      /creating dense engine "flaky" failed: no memory/,
    );
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
  afterEach(() => setDenseEngine(saved));

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

  it("core's engine calls dispatch to its fast paths and results match the reference", async () => {
    const { engine, calls } = recording();
    const rng = new Rng(9);
    const x = new Tensor([3, 8], rng.normalArray(24));
    const w = new Tensor([5, 8], rng.normalArray(40));
    const b = new Tensor([5], rng.normalArray(5));
    const img = new Tensor([1, 2, 5, 5], rng.normalArray(50));
    const k = new Tensor([3, 2, 3, 3], rng.normalArray(54));
    const ref = withReferenceEngine(() => [
      linear(x, w, b),
      conv2d(img, k, null, { padding: 1 }),
      layerNorm(x, 1e-6),
      softmax(x),
      geluTanh(x),
    ]);
    setDenseEngine(engine);
    expect(getDenseEngine()).toBe(engine);
    expect(activeEngineInfo()).toEqual({ id: 'rec', name: 'recording' });
    const got = [
      await onEngine.linear(x, w, b),
      await onEngine.conv2d(img, k, null, { padding: 1 }),
      await onEngine.layerNorm(x, 1e-6),
      await onEngine.softmax(x),
      await onEngine.geluTanh(x),
    ];
    expect(calls).toEqual(['linear', 'conv2d', 'layerNormRows', 'softmaxRows', 'geluTanh']);
    for (let i = 0; i < got.length; i++) {
      for (let j = 0; j < got[i].data.length; j++) expect(got[i].data[j]).toBeCloseTo(ref[i].data[j], 4);
    }
    // core's synchronous ops are the reference kernels: they use the engine's GEMM, never its fast paths
    calls.length = 0;
    linear(x, w, b);
    expect(calls).toEqual(['gemmNT']);
  });

  it("asymmetric conv2d padding (Downsample2x) is padded by core for the engine's conv2d; absent fast paths run on its gemmNT", async () => {
    const { engine, calls } = recording();
    const { linear: _drop, ...withoutLinear } = engine;
    setDenseEngine({ ...withoutLinear, id: 'nolinear' });
    const rng = new Rng(2);
    const args = [
      new Tensor([2, 2, 5, 4], rng.normalArray(80)),
      new Tensor([3, 2, 3, 3], rng.normalArray(54)),
      new Tensor([3], rng.normalArray(3)),
    ] as const;
    const opts = { stride: 2, padding: [0, 1, 0, 1] as const };
    const got = await onEngine.conv2d(...args, opts);
    await onEngine.linear(new Tensor([2, 3], rng.normalArray(6)), new Tensor([4, 3], rng.normalArray(12)));
    expect(calls).toEqual(['conv2d', 'gemmNT']);
    const ref = withReferenceEngine(() => conv2d(...args, opts));
    expect(got.shape).toEqual(ref.shape);
    for (let i = 0; i < ref.data.length; i++) expect(got.data[i]).toBeCloseTo(ref.data[i], 4);
  });

  it('awaits fast paths that finish on a later task (an asynchronous native API), and null restores the reference', async () => {
    const later = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
    const base = naiveEngine();
    let pending = 0;
    const asyncEngine: DenseEngine = { id: 'async', name: 'writes after a timer' };
    for (const k of ['linear', 'conv2d', 'layerNormRows', 'groupNorm', 'softmaxRows', 'geluTanh', 'silu'] as const) {
      const f = base[k] as (...a: unknown[]) => void;
      (asyncEngine as unknown as Record<string, unknown>)[k] = async (...a: unknown[]) => {
        pending++;
        await later();
        f(...a);
        pending--;
      };
    }
    const rng = new Rng(12);
    const x = new Tensor([4, 8], rng.normalArray(32));
    const w1 = new Tensor([16, 8], rng.normalArray(128)),
      b1 = new Tensor([16], rng.normalArray(16));
    const w2 = new Tensor([8, 16], rng.normalArray(128)),
      b2 = new Tensor([8], rng.normalArray(8));
    const norm = {
      weight: new Tensor([4], rng.normalArray(4)),
      bias: new Tensor([4], rng.normalArray(4)),
      groups: 2,
      eps: 1e-6,
    };
    const conv = {
      weight: new Tensor([4, 4, 3, 3], rng.normalArray(144)),
      bias: new Tensor([4], rng.normalArray(4)),
      stride: 1,
      padding: 1,
    };
    const build: FeatureBuild = (ops, v) => ops.add(v, ops.conv2d(ops.silu(ops.groupNorm(v, norm)), conv));
    const img = new Tensor([2, 4, 3, 5], rng.normalArray(120));
    const ref = withReferenceEngine(() => [linear(geluTanh(linear(x, w1, b1)), w2, b2), build(eagerFeatureOps, img)]);
    setDenseEngine(asyncEngine);
    const got = [
      // no feedForward fast path: linear → geluTanh → linear, each awaited
      await onEngine.feedForward(x, w1, b1, w2, b2),
      // no featureNet fast path: the recorded net runs node by node on the engine's conv2d, groupNorm and silu
      await onEngine.featureNet(recordFeatureNet('t', 4, [build]), img),
    ];
    expect(pending).toBe(0);
    for (let i = 0; i < got.length; i++) {
      expect(got[i].data.some(Number.isNaN)).toBe(false);
      for (let j = 0; j < ref[i].data.length; j++) expect(got[i].data[j]).toBeCloseTo(ref[i].data[j], 4);
    }
    setDenseEngine(null);
    expect(getDenseEngine()).toBeNull();
    expect(activeEngineInfo()).toEqual({ id: 'js', name: jsGemmEngine.name });
    expect(() => setDenseEngine({ id: 'x', name: 'x', gemmNT: {} } as unknown as DenseEngine)).toThrow(TypeError);
    expect(() => setDenseEngine({ ...naiveEngine(), linear: 3 } as unknown as DenseEngine)).toThrow(
      /linear that is not a function/,
    );
  });
});

describe('loadVAR({ engine })', () => {
  afterEach(() => setDenseEngine(saved));
  const registry = createExactTestRegistry();
  const paths = {
    var: fixture('var.safetensors'),
    vae: fixture('vae.safetensors'),
    patchNums: TINY_PATCH_NUMS,
    registry,
  };

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
    await expect(loadVAR({ ...paths, engine: 'onnx', engineRegistry: createEngineRegistry() })).rejects.toThrow(
      EngineUnavailableError,
    );
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
