import { describe, expect, it } from 'vitest';
import { loadStateDict } from '../../weights/index.js';
import { blockAttentionCall } from './self-attention.js';
import { fixture, randomVARStateDict, TINY_PATCH_NUMS } from './test-support.js';
import { VARTransformer } from './var-transformer.js';

describe('what the attention policy is told', () => {
  it('l2-normalised heads carry their static bound exp(min(scale_mul, ln 100))', async () => {
    const sd = await loadStateDict(fixture('var.safetensors'));
    const model = VARTransformer.fromStateDict(sd, { patchNums: TINY_PATCH_NUMS });
    const call = blockAttentionCall(model.config, model.weights.blocks[1], 1, 4, model.scaleEnds);
    const scaleMul = Array.from(sd.tensors.get('blocks.1.attn.scale_mul_1H11')!.data);
    expect(call).toMatchObject({
      site: 'var.blocks.1.attn',
      layer: 1,
      batch: 4,
      heads: 4,
      headDim: 16,
      scale: 1,
      mask: 'block-causal',
      scaleEnds: [1, 5, 14, 30],
    });
    expect(call.headBounds!.map((h) => h.source)).toEqual(['l2-static', 'l2-static', 'l2-static', 'l2-static']);
    call.headBounds!.forEach((h, i) => expect(h.beta).toBeCloseTo(Math.exp(Math.min(scaleMul[i], Math.log(100))), 5));
  });

  it('the learned scale is clamped at ln 100', () => {
    const sd = randomVARStateDict({
      depth: 1,
      C: 8,
      heads: 2,
      cvae: 2,
      vocab: 4,
      numClasses: 2,
      mlpHidden: 8,
      patchNums: [1, 2],
      sharedAdaLN: false,
      l2Norm: true,
    });
    sd.get('blocks.0.attn.scale_mul_1H11')!.data.set([7, -1]);
    const model = VARTransformer.fromStateDict({ tensors: sd }, { patchNums: [1, 2] });
    const call = blockAttentionCall(model.config, model.weights.blocks[0], 0, 1, model.scaleEnds);
    expect(call.headBounds![0].beta).toBeCloseTo(100, 4);
    expect(call.headBounds![1].beta).toBeCloseTo(Math.exp(-1), 6);
  });

  it('scaled dot-product heads have no static bound and use τ = 0.25/√hd', () => {
    const sd = randomVARStateDict({
      depth: 1,
      C: 8,
      heads: 2,
      cvae: 2,
      vocab: 4,
      numClasses: 2,
      mlpHidden: 8,
      patchNums: [1, 2],
      sharedAdaLN: true,
      l2Norm: false,
    });
    const model = VARTransformer.fromStateDict({ tensors: sd }, { patchNums: [1, 2], numHeads: 2 });
    const call = blockAttentionCall(model.config, model.weights.blocks[0], 0, 1, model.scaleEnds);
    expect(call.headBounds).toBeUndefined();
    expect(call.scale).toBeCloseTo(0.125, 12);
  });
});
