/**
 * Feature nets (whole VQ-VAE stretches as one ONNX session) against core's op-by-op TypeScript reference: random nets
 * with odd sizes, and a whole random VQ-VAE decode whose stretches must really have run fused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttentionTrace, Rng, setDenseEngine, Tensor } from '@nextscale/core';
import { AttentionRouter } from '@nextscale/core/attention';
import {
  eagerFeatureOps,
  geluTanh,
  linear,
  recordFeatureNet,
  type FeatureBuild,
  type FeatureConv,
  type FeatureGroupNorm,
} from '@nextscale/core/ops';
import { randomVQVAEStateDict, VQVAE, type VQVAEConfig } from '@nextscale/core/models';
import { createExactTestRegistry } from '@nextscale/core/testing';
import type { OnnxDenseEngine } from './engine.js';
import { createOnnxEngine } from './node.js';

const rng = new Rng(41);
let engine: OnnxDenseEngine;

beforeAll(async () => {
  setDenseEngine(null);
  // Winograd convolutions from the smallest maps on (the engine's default starts at 64²), so the small VAE uses them
  engine = await createOnnxEngine({ threads: 2, releaseWeights: false, winogradFromArea: 1 });
});
afterAll(async () => {
  setDenseEngine(null);
  await engine.dispose();
});

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i] - b[i]) ? Infinity : Math.abs(a[i] - b[i]));
  return m;
}

const conv = (co: number, ci: number, k: number, stride = 1, bias = true): FeatureConv => ({
  weight: new Tensor(
    [co, ci, k, k],
    rng.normalArray(co * ci * k * k).map((v) => v / Math.sqrt(ci * k * k)),
  ),
  bias: bias ? new Tensor([co], rng.normalArray(co)) : null,
  stride,
  padding: (k - 1) / 2,
});
const norm = (c: number, groups: number): FeatureGroupNorm => ({
  weight: new Tensor([c], rng.normalArray(c)),
  bias: new Tensor([c], rng.normalArray(c)),
  groups,
  eps: 1e-6,
});

describe('engine-onnx feature nets against core op by op', () => {
  it.each([
    [1, 12, 5, 7],
    [2, 8, 1, 1],
    [3, 16, 6, 3],
  ])('resnet block with shortcut, upsample, stride-2 conv, norm head: B %i, C %i, %i×%i', async (B, C, H, W) => {
    const n1 = norm(C, 4),
      c1 = conv(2 * C, C, 3),
      n2 = norm(2 * C, 4),
      c2 = conv(2 * C, 2 * C, 3),
      sc = conv(2 * C, C, 1, 1, false);
    const up = conv(2 * C, 2 * C, 3),
      down = conv(C, 2 * C, 3, 2),
      head = norm(C, 2),
      out = conv(3, C, 3);
    const builds: FeatureBuild[] = [
      (ops, x) =>
        ops.add(
          ops.conv2d(x, sc),
          ops.conv2d(ops.silu(ops.groupNorm(ops.conv2d(ops.silu(ops.groupNorm(x, n1)), c1), n2)), c2),
        ),
      (ops, x) => ops.conv2d(ops.upsampleNearest2x(x), up),
      (ops, x) => ops.conv2d(x, down),
      (ops, x) => ops.conv2d(ops.silu(ops.groupNorm(x, head)), out),
    ];
    const x = new Tensor([B, C, H, W], rng.normalArray(B * C * H * W));
    let ref = x;
    for (const b of builds) ref = b(eagerFeatureOps, ref);
    const net = recordFeatureNet('test net', C, builds);
    const y = new Float32Array(ref.data.length);
    expect(await engine.featureNet(net, x.data, x.shape as [number, number, number, number], y)).toBe(true);
    expect(ref.shape).toEqual([B, 3, Math.floor((2 * H - 1) / 2) + 1, Math.floor((2 * W - 1) / 2) + 1]);
    expect(maxAbs(y, ref.data)).toBeLessThan(1e-4);
  });

  it('a batch gives each image exactly what it gives alone (batch invariance)', async () => {
    const n1 = norm(8, 4),
      c1 = conv(8, 8, 3);
    const net = recordFeatureNet('bi', 8, [(ops, x) => ops.conv2d(ops.silu(ops.groupNorm(x, n1)), c1)]);
    const x = rng.normalArray(3 * 8 * 9 * 9);
    const all = new Float32Array(x.length);
    await engine.featureNet(net, x, [3, 8, 9, 9], all);
    const one = new Float32Array(8 * 81);
    await engine.featureNet(net, x.subarray(8 * 81, 16 * 81), [1, 8, 9, 9], one);
    expect(Array.from(all.subarray(8 * 81, 16 * 81))).toEqual(Array.from(one));
  });
});

const smallVAE: VQVAEConfig = {
  vocabSize: 16,
  Cvae: 8,
  ch: 32,
  chMult: [1, 2],
  numResBlocks: 1,
  usingSa: true,
  usingMidSa: true,
  shareQuantResi: 2,
  numPhi: 2,
  quantResi: 0.5,
  numScales: 3,
  inChannels: 3,
};
const patchNums = [1, 2, 3];

async function decodeWith(vae: VQVAE, tokens: Int32Array[], onModule?: () => void): Promise<Tensor> {
  const run = {
    router: await AttentionRouter.create({ registry: createExactTestRegistry() }),
    trace: new AttentionTrace(),
  };
  return vae.decode(tokens, onModule ? { ...run, onModule } : run);
}

const tokensFor = (pns: number[]) =>
  pns.map((pn) => Int32Array.from({ length: 2 * pn * pn }, () => Math.floor(rng.uniform() * 16)));

describe('a VQ-VAE decode on the onnx engine', () => {
  const tokens = tokensFor(patchNums);

  // [1, 2, 3]: 3² and 6² maps (direct Conv, then Winograd F(2×2)); [1, 2, 4]: 4² and 8² (F(4×4) throughout)
  it.each([[patchNums], [[1, 2, 4]]])(
    'patch nums %j: runs its stretches fused and matches the TypeScript reference',
    async (pns) => {
      const vae = VQVAE.fromStateDict(randomVQVAEStateDict(smallVAE, 3), { patchNums: pns });
      const toks = tokensFor(pns);
      setDenseEngine(null);
      const ref = await decodeWith(vae, toks);
      let calls = 0;
      const counting = Object.assign(Object.create(engine) as OnnxDenseEngine, {
        featureNet: (...a: Parameters<OnnxDenseEngine['featureNet']>) => (calls++, engine.featureNet(...a)),
      });
      setDenseEngine(counting);
      const got = await decodeWith(vae, toks);
      setDenseEngine(null);
      // conv_in + mid.block_1 | mid.block_2 + up.1.block.0 | up.1.upsample … conv_out, separated by attention blocks
      expect(calls).toBeGreaterThanOrEqual(3);
      expect(got.shape).toEqual(ref.shape);
      expect(maxAbs(got.data, ref.data)).toBeLessThan(1e-4);
    },
  );

  it('with its weights released by one-op sessions first, declines the fused path and still decodes the same', async () => {
    const releasing = await createOnnxEngine({ threads: 2 });
    try {
      const vae = VQVAE.fromStateDict(randomVQVAEStateDict(smallVAE, 5), { patchNums });
      setDenseEngine(null);
      const ref = await decodeWith(vae, tokens);
      setDenseEngine(releasing);
      // onModule observes every module, so the first decode runs op by op and hands each weight to a one-op session
      const first = await decodeWith(vae, tokens, () => {});
      const second = await decodeWith(vae, tokens);
      expect(maxAbs(first.data, ref.data)).toBeLessThan(1e-4);
      expect(Array.from(second.data)).toEqual(Array.from(first.data));
      expect(releasing.releasedBytes).toBeGreaterThan(0);
    } finally {
      setDenseEngine(null);
      await releasing.dispose();
    }
  });
});

describe('engine-onnx fused feed-forward', () => {
  it.each([
    [1, 8, 32],
    [7, 33, 17],
    [64, 96, 384],
  ])(
    'rows %i, in %i, hidden %i: the TypeScript reference within 1e-4, and bit for bit its own three one-op calls',
    async (rows, inF, hidden) => {
      const x = rng.normalArray(rows * inF);
      const w1 = rng.normalArray(hidden * inF).map((v) => v / Math.sqrt(inF));
      const b1 = rng.normalArray(hidden);
      const w2 = rng.normalArray(inF * hidden).map((v) => v / Math.sqrt(hidden));
      const b2 = rng.normalArray(inF);
      setDenseEngine(null);
      const ref = linear(
        geluTanh(linear(new Tensor([rows, inF], x), new Tensor([hidden, inF], w1), new Tensor([hidden], b1))),
        new Tensor([inF, hidden], w2),
        new Tensor([inF], b2),
      );
      const y = new Float32Array(rows * inF);
      await engine.feedForward(x, rows, inF, w1, b1, hidden, w2, b2, y);
      expect(maxAbs(y, ref.data)).toBeLessThan(1e-4);
      const h = new Float32Array(rows * hidden);
      await engine.linear(x, rows, inF, w1, hidden, b1, h);
      await engine.geluTanh(h, h, h.length);
      const three = new Float32Array(rows * inF);
      await engine.linear(h, rows, hidden, w2, inF, b2, three);
      expect(Array.from(y)).toEqual(Array.from(three));
    },
  );
});
