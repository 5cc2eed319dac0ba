/**
 * The shipped Fashion-MNIST model: the TypeScript pipeline reproduces the PyTorch outputs that
 * tools/train/export_parity.py recorded (atol 1e-4 on floats, exact token indices), and its attention
 * sits on the subcritical side of the norm policy's criterion.
 */
import path from 'node:path';
import { backend as cpu } from '@nextscale/backend-cpu';
import { createRegistry, explicitPolicy, loadVAR, normPolicy, Tensor, type VARModel } from '@nextscale/core';
import { loadStateDict } from '@nextscale/core/weights';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_DIR } from './test-support.js';

const ASSETS = path.join(CLI_DIR, 'assets', 'fashion-mnist');
const ATOL = 1e-4;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** (B, L) row-major token indices → one Int32Array per scale, B·pn² each. */
function splitScales(flat: ArrayLike<number>, B: number, patchNums: number[]): Int32Array[] {
  const L = patchNums.reduce((s, p) => s + p * p, 0);
  let start = 0;
  return patchNums.map((p) => {
    const n = p * p;
    const out = new Int32Array(B * n);
    for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) out[b * n + i] = flat[b * L + start + i];
    start += n;
    return out;
  });
}

describe('the shipped Fashion-MNIST model', () => {
  let model: VARModel;
  let ref: Map<string, Tensor>;
  let meta: Record<string, string>;

  beforeAll(async () => {
    const registry = createRegistry();
    registry.register(cpu);
    model = await loadVAR({
      var: path.join(ASSETS, 'var.safetensors'),
      vae: path.join(ASSETS, 'vae.safetensors'),
      registry,
      policy: explicitPolicy('cpu'),
    });
    const parity = await loadStateDict(path.join(ASSETS, 'parity.safetensors'));
    ref = parity.tensors;
    meta = parity.metadata;
  });
  afterAll(() => model?.dispose());

  it('carries its own configuration and class names', () => {
    expect(model.config.patchNums).toEqual([1, 2, 3, 4, 5, 6, 8]);
    expect(model.config.patchNumsSource).toBe('metadata');
    expect(model.config).toMatchObject({ headDim: 16, attnL2Norm: true, numClasses: 10 });
    expect(model.classNames).toHaveLength(10);
    expect(model.classNames![9]).toBe('Ankle boot');
  });

  it('encodes the reference images to the reference tokens exactly', async () => {
    const img = ref.get('enc.img')!;
    const tokens = await model.vae.encode(img);
    const expected = splitScales(ref.get('enc.idx')!.data, 2, model.config.patchNums);
    tokens.forEach((t, s) => expect(Array.from(t), `scale ${s}`).toEqual(Array.from(expected[s])));
    // img_to_reconstructed_img is in [-1, 1]; decode returns [0, 1].
    const recon = await model.vae.decode(tokens);
    const expectedRecon = Float32Array.from(ref.get('enc.recon')!.data, (x) => (x + 1) / 2);
    expect(maxAbsDiff(recon.data, expectedRecon)).toBeLessThanOrEqual(ATOL);
  });

  it('reproduces the PyTorch teacher-forcing logits', async () => {
    const labels = Array.from(ref.get('tf.label')!.data);
    const logits = await model.forward(labels, ref.get('tf.x_BLCv_wo_first_l')!);
    const expected = ref.get('tf.logits')!;
    expect(logits.shape).toEqual(expected.shape);
    expect(maxAbsDiff(logits.data, expected.data)).toBeLessThanOrEqual(ATOL);
  });

  it('reproduces the PyTorch greedy CFG sample: tokens exactly, image within 1e-4', async () => {
    const settings = JSON.parse(meta['ar.settings']) as { cfg: number; top_k: number; top_p: number };
    const labels = Array.from(ref.get('ar.label')!.data);
    const { tokens, images } = await model.generate({
      labels,
      cfg: settings.cfg,
      topK: settings.top_k,
      topP: settings.top_p,
      seed: 0,
    });
    const expected = splitScales(ref.get('ar.idx')!.data, 2, model.config.patchNums);
    tokens.forEach((t, s) => expect(Array.from(t), `scale ${s}`).toEqual(Array.from(expected[s])));
    expect(maxAbsDiff(images.data, ref.get('ar.img01')!.data)).toBeLessThanOrEqual(ATOL);
  });

  it('keeps every head subcritical (β = exp(min(scale_mul, ln 100)) < ln L), and the policy says why it stays exact', async () => {
    const weights = await loadStateDict(path.join(ASSETS, 'var.safetensors'));
    const { depth, numHeads, headDim, patchNums } = model.config;
    const scaleEnds = patchNums.map((_, i) => patchNums.slice(0, i + 1).reduce((s, p) => s + p * p, 0));
    const available = [
      { descriptor: cpu, probe: { available: true, reason: 'test' } },
      { descriptor: { ...cpu, id: 'lowrank', exact: false, priority: 1 }, probe: { available: true, reason: 'test' } },
    ];
    for (let layer = 0; layer < depth; layer++) {
      const scaleMul = weights.tensors.get(`blocks.${layer}.attn.scale_mul_1H11`)!.data;
      const headBounds = Array.from(scaleMul, (s) => ({
        beta: Math.exp(Math.min(s, Math.log(100))),
        source: 'l2-static' as const,
      }));
      for (const b of headBounds) expect(b.beta).toBeLessThanOrEqual(0.2 + 1e-6);
      const call = {
        site: `var.blocks.${layer}.attn`,
        batch: 2,
        heads: numHeads,
        headDim,
        scale: 1,
        mask: 'block-causal' as const,
        scaleEnds,
        headBounds,
      };
      for (const g of normPolicy().decide(call, available)) {
        expect(g.regime).toBe('subcritical');
        expect(g.reason.length).toBeGreaterThan(0);
      }
    }
  });
});
