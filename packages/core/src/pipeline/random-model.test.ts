/**
 * A VAR of another shape than the fixture (shared AdaLN, scaled dot-product attention with numHeads,
 * a 7-scale schedule, three blocks) built from in-memory state dicts: it loads, generates with the right
 * shapes, and its KV-cached generation agrees with teacher forcing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionTrace } from '../attention/trace.js';
import type { Tensor } from '../tensor.js';
import { generateNextScale } from '../models/var/autoregressive.js';
import { maxAbsDiff, SHARED_ADALN_PLAIN_ATTN_SPEC, sliceRows } from '../models/var/test-support.js';
import { randomModelOfAnotherShape } from './test-support.js';

const spec = SHARED_ADALN_PLAIN_ATTN_SPEC;
const model = await randomModelOfAnotherShape();
afterAll(() => model.dispose());

describe('a randomly initialised VAR of another shape', () => {
  it('infers its config', () => {
    expect(model.config).toMatchObject({
      depth: 3,
      embedDim: 48,
      numHeads: 4,
      headDim: 12,
      numClasses: 5,
      sharedAdaLN: true,
      attnL2Norm: false,
      patchNums: spec.patchNums,
      patchNumsSource: 'metadata',
      tokenCount: 155,
    });
    expect(model.config.attnScale).toBeCloseTo(0.25 / Math.sqrt(12), 12);
  });

  it('generates tokens per scale and images of the schedule’s size', async () => {
    const out = await model.generate({ labels: [0, 5], cfg: 3, topK: 10, topP: 0.9, seed: 1 });
    expect(out.tokens.map((t) => t.length)).toEqual(spec.patchNums.map((p) => 2 * p * p));
    expect(out.tokens.every((t) => t.every((v) => v >= 0 && v < spec.vocab))).toBe(true);
    expect(out.images.shape).toEqual([2, 3, 32, 32]);
    expect(out.images.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(
      out.trace.entries.filter((e) => e.scale === undefined && e.site.startsWith('var.')).map((e) => e.site),
    ).toEqual(['var.blocks.0.attn', 'var.blocks.1.attn', 'var.blocks.2.attn']);
  });

  it('KV-cached generation agrees with teacher forcing on its own tokens', async () => {
    const captured = new Map<string, Tensor>();
    const ctx = {
      router: model.router,
      trace: new AttentionTrace(),
      capture: (n: string, t: Tensor) => void captured.set(n, t),
    };
    const labels = [3, 1];
    const { tokens } = await generateNextScale(
      model.transformer,
      model.vae.model,
      { labels, cfg: 2, topK: 5, topP: 0.8, seed: 9 },
      ctx,
    );
    const xBLCv = await model.vae.model.quantizer.idxToVarInput(tokens, 2);
    const cond = await model.forward(labels, xBLCv);
    const uncond = await model.forward([5, 5], xBLCv);
    let start = 0;
    spec.patchNums.forEach((pn, si) => {
      const kv = captured.get(`logits_raw.s${si}`)!;
      const n = pn * pn;
      expect(
        maxAbsDiff(sliceRows(cond, 0, 2, start, start + n), sliceRows(kv, 0, 2, 0, n)),
        `cond, scale ${si}`,
      ).toBeLessThanOrEqual(1e-4);
      expect(
        maxAbsDiff(sliceRows(uncond, 0, 2, start, start + n), sliceRows(kv, 2, 4, 0, n)),
        `uncond, scale ${si}`,
      ).toBeLessThanOrEqual(1e-4);
      start += n;
    });
  });
});
