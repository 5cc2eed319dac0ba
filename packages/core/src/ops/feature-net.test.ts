import { afterEach, describe, expect, it } from 'vitest';
import { AttentionRouter } from '../attention/router.js';
import { AttentionTrace } from '../attention/trace.js';
import { randomVQVAEStateDict } from '../models/random-weights.js';
import type { VQVAEConfig } from '../models/vqvae/config.js';
import { VQVAE } from '../models/vqvae/vqvae.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { setDenseEngine } from '../engines/active.js';
import type { DenseEngine } from '../engines/contract.js';
import { eagerFeatureOps, featureNetShapes, recordFeatureNet, type FeatureNet } from './feature-net.js';

const rng = new Rng(3);
const conv = (co: number, ci: number, k: number, stride = 1) => ({
  weight: new Tensor([co, ci, k, k], rng.normalArray(co * ci * k * k)),
  bias: new Tensor([co], rng.normalArray(co)),
  stride,
  padding: (k - 1) / 2,
});
const norm = (c: number) => ({
  weight: new Tensor([c], rng.normalArray(c)),
  bias: new Tensor([c], rng.normalArray(c)),
  groups: 2,
  eps: 1e-6,
});

/** A test engine whose featureNet interprets the recorded nodes with core's own ops, counting its calls. */
function interpretingEngine(): DenseEngine & { nets: FeatureNet[] } {
  const nets: FeatureNet[] = [];
  return {
    id: 'interp',
    name: 'interpreter',
    nets,
    featureNet(net, x, shape, y) {
      nets.push(net);
      const values: Tensor[] = [new Tensor([...shape], x.slice())];
      for (const n of net.nodes) {
        const o = eagerFeatureOps;
        if (n.op === 'conv2d') values.push(o.conv2d(values[n.x], n));
        else if (n.op === 'groupNorm') values.push(o.groupNorm(values[n.x], n));
        else if (n.op === 'silu') values.push(o.silu(values[n.x]));
        else if (n.op === 'add') values.push(o.add(values[n.a], values[n.b]));
        else values.push(o.upsampleNearest2x(values[n.x]));
      }
      y.set(values[values.length - 1].data);
      return true;
    },
  };
}

afterEach(() => setDenseEngine(null));

describe('feature nets', () => {
  it('records a module written over FeatureOps as nodes over value indices, with shapes inferred', () => {
    const n1 = norm(4),
      c1 = conv(6, 4, 3),
      c2 = conv(6, 6, 3, 2);
    const net = recordFeatureNet('t', 4, [
      (ops, x) => ops.add(ops.conv2d(ops.silu(ops.groupNorm(x, n1)), c1), ops.conv2d(x, c1)),
      (ops, x) => ops.conv2d(ops.upsampleNearest2x(x), c2),
    ]);
    expect(net.nodes.map((n) => n.op)).toEqual([
      'groupNorm',
      'silu',
      'conv2d',
      'conv2d',
      'add',
      'upsampleNearest2x',
      'conv2d',
    ]);
    expect(net.nodes[4]).toMatchObject({ op: 'add', a: 3, b: 4 });
    expect(net.nodes[3]).toMatchObject({ op: 'conv2d', x: 0 });
    expect(featureNetShapes(net, [2, 4, 5, 7]).at(-1)).toEqual([2, 6, 5, 7]);
    expect(() => featureNetShapes(net, [2, 3, 5, 7])).toThrow(/input must be \(B, 4, H, W\)/);
  });

  const cfg: VQVAEConfig = {
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
    numScales: 2,
    inChannels: 3,
  };
  const patchNums = [1, 2];
  const tokens = patchNums.map((pn) => Int32Array.from({ length: pn * pn }, (_, i) => (i * 5 + pn) % 16));
  const run = async () => ({
    router: await AttentionRouter.create({ registry: createExactTestRegistry() }),
    trace: new AttentionTrace(),
  });

  it("a VQ-VAE decode hands each stretch between attention blocks to the engine's featureNet, with the reference's result", async () => {
    const vae = VQVAE.fromStateDict(randomVQVAEStateDict(cfg, 2), { patchNums });
    const ref = await vae.decode(tokens, await run());
    const engine = interpretingEngine();
    setDenseEngine(engine);
    const got = await vae.decode(tokens, await run());
    // conv_in+mid.block_1 | mid.block_2+up.1.block.0 | up.1.block.1 | up.1.upsample … conv_out (attention in between)
    expect(engine.nets.map((n) => n.label)).toEqual([
      'decoder.conv_in … decoder.mid.block_1',
      'decoder.mid.block_2 … decoder.up.1.block.0',
      'decoder.up.1.block.1',
      'decoder.up.1.upsample … decoder.conv_out',
    ]);
    expect(Array.from(got.data)).toEqual(Array.from(ref.data));
    // the same net objects every time (engines key their sessions by identity)
    await vae.decode(tokens, await run());
    expect(engine.nets[4]).toBe(engine.nets[0]);
  });

  it('with onModule observing every module, the decode runs op by op (no featureNet call) and reports each module', async () => {
    const vae = VQVAE.fromStateDict(randomVQVAEStateDict(cfg, 2), { patchNums });
    const engine = interpretingEngine();
    setDenseEngine(engine);
    const seen: string[] = [];
    await vae.decode(tokens, { ...(await run()), onModule: (name) => seen.push(name) });
    expect(engine.nets).toHaveLength(0);
    expect(seen).toContain('decoder.up.1.block.0');
    expect(seen.at(-1)).toBe('decoder.conv_out');
  });

  it('onRawImage receives the unclamped decoder output without forcing op-by-op execution', async () => {
    const vae = VQVAE.fromStateDict(randomVQVAEStateDict(cfg, 2), { patchNums });
    const engine = interpretingEngine();
    setDenseEngine(engine);
    let raw: Tensor | undefined;
    const img = await vae.fhatToImage(await vae.tokensToFhat(tokens), {
      ...(await run()),
      onRawImage: (t) => (raw = t),
    });
    expect(engine.nets.length).toBeGreaterThan(0);
    expect(raw!.shape).toEqual(img.shape);
    expect(Array.from(img.data)).toEqual(Array.from(raw!.data, (v) => Math.min(1, Math.max(-1, v))));
  });
});
