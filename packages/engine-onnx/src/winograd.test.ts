/**
 * Winograd F(m×m, 3×3) convolutions (winograd.ts) inside feature nets, against core's TypeScript convolution: both
 * tile sizes, odd channel counts, with and without bias, the size rule that picks them, and a net asked for a second
 * input size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, setDenseEngine, Tensor } from '@nextscale/core';
import { eagerFeatureOps, recordFeatureNet, type FeatureBuild, type FeatureConv } from '@nextscale/core/ops';
import type { OnnxDenseEngine } from './engine.js';
import { featureNetGraph, winogradTile } from './feature-net-graph.js';
import { createOnnxEngine, loadOrt } from './node.js';
import { encodeModel, FLOAT } from './onnx-proto.js';
import { sessionOptions } from './session-options.js';
import { winogradConv } from './winograd.js';

const rng = new Rng(7);
let engine: OnnxDenseEngine;
beforeAll(async () => {
  setDenseEngine(null);
  // Winograd from the smallest maps on, so that small test nets use it (the engine's default starts at 64²)
  engine = await createOnnxEngine({ threads: 2, releaseWeights: false, winogradFromArea: 1 });
});
afterAll(async () => {
  await engine.dispose();
});

const conv = (co: number, ci: number, bias: boolean): FeatureConv => ({
  weight: new Tensor(
    [co, ci, 3, 3],
    rng.normalArray(co * ci * 9).map((v) => v / Math.sqrt(ci * 9)),
  ),
  bias: bias ? new Tensor([co], rng.normalArray(co)) : null,
  stride: 1,
  padding: 1,
});

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i] - b[i]) ? Infinity : Math.abs(a[i] - b[i]));
  return m;
}

/** Which ONNX ops the graph of `net` at h × w holds (the op types are plain strings in the serialised model). */
const writes = (net: ReturnType<typeof recordFeatureNet>, h: number, w: number, op: string) =>
  Buffer.from(featureNetGraph(net, { height: h, width: w, winogradFromArea: 1 }).bytes)
    .toString('latin1')
    .includes(op);

describe('Winograd convolutions in feature nets', () => {
  it('picks F(4×4) where the map is whole 4×4 tiles, F(2×2) where it is 2×2 tiles, from 64² on by default', () => {
    const k = { kernelH: 3, kernelW: 3, stride: 1, padding: 1 };
    expect(winogradTile({ ...k, height: 64, width: 256 })).toBe(4);
    expect(winogradTile({ ...k, height: 66, width: 66 })).toBe(2);
    expect(winogradTile({ ...k, height: 32, width: 32 })).toBeNull(); // below the default 64²
    expect(winogradTile({ ...k, height: 32, width: 32 }, 1)).toBe(4);
    expect(winogradTile({ ...k, height: 6, width: 10 }, 1)).toBe(2);
    expect(winogradTile({ ...k, height: 5, width: 8 }, 1)).toBeNull();
    expect(winogradTile({ ...k, stride: 2, height: 16, width: 16 }, 1)).toBeNull();
    expect(winogradTile({ ...k, padding: 0, height: 16, width: 16 }, 1)).toBeNull();
    expect(winogradTile({ ...k, kernelH: 1, kernelW: 1, padding: 0, height: 16, width: 16 }, 1)).toBeNull();
  });

  it.each([
    [4, 5, 7, 8, 12, true],
    [4, 16, 3, 4, 4, false],
    [2, 6, 9, 6, 10, true],
    [2, 3, 3, 2, 2, false],
    [0, 4, 5, 5, 7, true],
  ])(
    'tile %i: %i → %i channels at %i×%i (bias %s) within 1e-4 of core, a batch of 2 image by image',
    async (tile, ci, co, h, w, bias) => {
      const c = conv(co, ci, bias);
      const builds: FeatureBuild[] = [(ops, x) => ops.conv2d(x, c)];
      const net = recordFeatureNet(`wino ${tile}`, ci, builds);
      expect(writes(net, h, w, 'DepthToSpace')).toBe(tile !== 0);
      const x = new Tensor(
        [2, ci, h, w],
        rng.normalArray(2 * ci * h * w).map((v) => 2 * v),
      );
      const ref = builds[0](eagerFeatureOps, x);
      const y = new Float32Array(ref.data.length);
      expect(await engine.featureNet(net, x.data, [2, ci, h, w], y)).toBe(true);
      expect(maxAbs(y, ref.data)).toBeLessThan(1e-4);
    },
  );

  it.each([
    [4, 24, 8, 1, 6],
    [4, 24, 8, 2 * 36 * 8 * 2, 3],
    [2, 10, 6, 1, 5],
  ])(
    'tile %i at %i×%i in row strips (strip budget %i floats: %i strips) within 1e-4 of core',
    async (m, h, w, budget, strips) => {
      const ci = 3;
      const co = 5;
      const c = conv(co, ci, true);
      const g = winogradConv(
        m as 2 | 4,
        'x',
        'y',
        'w',
        {
          weight: c.weight.data,
          bias: c.bias!.data,
          outChannels: co,
          inChannels: ci,
          height: h,
          width: w,
        },
        budget,
      );
      expect(g.nodes.filter((n) => n.opType === 'Slice')).toHaveLength(strips);
      const bytes = encodeModel({
        name: 'strips',
        nodes: g.nodes,
        initializers: g.initializers,
        inputs: [{ name: 'x', elemType: FLOAT, dims: [1, ci, h, w] }],
        outputs: [{ name: 'y', elemType: FLOAT, dims: [1, co, h, w] }],
      });
      const r = await loadOrt();
      if (!r.ok) throw new Error(r.reason);
      const ort = r.ort as unknown as {
        InferenceSession: {
          create(
            b: Uint8Array,
            o: object,
          ): Promise<{ run(f: object): Promise<{ y: { data: Float32Array } }>; release(): Promise<void> }>;
        };
        Tensor: new (t: 'float32', d: Float32Array, dims: number[]) => unknown;
      };
      const session = await ort.InferenceSession.create(
        bytes,
        sessionOptions(
          { executionProviders: ['cpu'], cpu: { threads: 1, memArena: false, spinning: false, prepack: true } },
          { optimization: 'basic' },
        ),
      );
      const x = new Tensor(
        [1, ci, h, w],
        rng.normalArray(ci * h * w).map((v) => 2 * v),
      );
      const y = (await session.run({ x: new ort.Tensor('float32', x.data, [1, ci, h, w]) })).y.data;
      await session.release();
      expect(maxAbs(y, eagerFeatureOps.conv2d(x, c).data)).toBeLessThan(1e-4);
    },
  );

  it('a net asked for a second size gets a second graph, or a clear error once its weights were handed over', async () => {
    const c = conv(8, 8, true);
    const builds: FeatureBuild[] = [(ops, x) => ops.silu(ops.conv2d(x, c))];
    const net = recordFeatureNet('two sizes', 8, builds);
    for (const [h, w] of [
      [8, 8],
      [6, 10],
    ]) {
      const x = new Tensor([1, 8, h, w], rng.normalArray(8 * h * w));
      const ref = builds[0](eagerFeatureOps, x);
      const y = new Float32Array(ref.data.length);
      expect(await engine.featureNet(net, x.data, [1, 8, h, w], y)).toBe(true);
      expect(maxAbs(y, ref.data)).toBeLessThan(1e-4);
    }
    const releasing = await createOnnxEngine({ threads: 1, winogradFromArea: 1 });
    try {
      const held = conv(4, 4, true);
      const once = recordFeatureNet('released', 4, [(ops, x) => ops.conv2d(x, held)]);
      await releasing.featureNet(once, rng.normalArray(4 * 16), [1, 4, 4, 4], new Float32Array(4 * 16));
      await expect(
        releasing.featureNet(once, rng.normalArray(4 * 36), [1, 4, 6, 6], new Float32Array(4 * 36)),
      ).rejects.toThrow(/written for 4x4 .*cannot run at 6×6.*NEXTSCALE_ONNX_RELEASE_WEIGHTS=0/);
    } finally {
      await releasing.dispose();
    }
  });
});
