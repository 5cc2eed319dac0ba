import { describe, expect, it } from 'vitest';
import { UsageError, WeightsError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { loadStateDict } from '../../weights/index.js';
import { inferVARConfig } from './config.js';
import { CONFIG, fixture, randomVARStateDict, TINY_PATCH_NUMS, VAR_FILES, type RandomVARSpec } from './test-support.js';
import { VARTransformer } from './var-transformer.js';

const tiny = await loadStateDict(fixture('var.safetensors'));

/** A copy of the tiny state dict with edits applied. */
function edited(edit: (m: Map<string, Tensor>) => void) {
  const tensors = new Map(tiny.tensors);
  edit(tensors);
  return { tensors, path: 'edited.safetensors' };
}

const otherShape: RandomVARSpec = {
  depth: 1,
  C: 16,
  heads: 2,
  cvae: 4,
  vocab: 10,
  numClasses: 3,
  mlpHidden: 40,
  patchNums: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
  sharedAdaLN: false,
  l2Norm: true,
};

describe('VAR config inference', () => {
  it.each(VAR_FILES)('reads the tiny model from %s as config.json describes it', async (file) => {
    const c = inferVARConfig(await loadStateDict(fixture(file)), { patchNums: TINY_PATCH_NUMS });
    const v = CONFIG.var;
    expect(c).toMatchObject({
      depth: v.depth,
      embedDim: v.embed_dim,
      numHeads: v.num_heads,
      headDim: v.head_dim,
      vocabSize: CONFIG.vae.vocab_size,
      cvae: CONFIG.vae.Cvae,
      numClasses: v.num_classes,
      mlpHidden: v.mlp_hidden,
      sharedAdaLN: v.shared_aln,
      attnL2Norm: v.attn_l2_norm,
      patchNums: CONFIG.patch_nums,
      tokenCount: 30,
      firstL: 1,
      normEps: v.norm_eps,
      attnScale: 1,
    });
  });

  it('reads the schedule from lvl_1L when neither the option nor the metadata gives it', () => {
    const c = inferVARConfig(tiny);
    expect(c.patchNums).toEqual([1, 2, 3, 4]);
    expect(c.patchNumsSource).toBe('lvl_1L');
  });

  it('asks for patchNums when L is not 680 and lvl_1L cannot tell the schedule', () => {
    const scrambled = new Map(tiny.tensors);
    const levels = tiny.tensors.get('lvl_1L')!.clone();
    levels.data.reverse();
    scrambled.set('lvl_1L', levels);
    expect(() => inferVARConfig({ ...tiny, tensors: scrambled })).toThrow(UsageError);
    expect(() => inferVARConfig({ ...tiny, tensors: scrambled })).toThrow(/pass the patchNums option/);
  });

  it('takes patchNums from safetensors metadata', () => {
    expect(inferVARConfig({ ...tiny, metadata: { patch_nums: '[1,2,3,4]' } }).patchNums).toEqual([1, 2, 3, 4]);
    expect(inferVARConfig({ ...tiny, metadata: { patchNums: '[1,2,3,4]' } }).patchNumsSource).toBe('metadata');
    expect(() => inferVARConfig({ ...tiny, metadata: { patch_nums: '[1,2,3]' } })).toThrow(WeightsError);
  });

  it('falls back to the released 256-px schedule when L = 680 and there is no lvl_1L to read', () => {
    const tensors = randomVARStateDict(otherShape);
    expect(inferVARConfig({ tensors }).patchNumsSource).toBe('lvl_1L');
    tensors.delete('lvl_1L');
    const c = inferVARConfig({ tensors });
    expect(c.patchNums).toEqual([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]);
    expect(c.patchNumsSource).toBe('released-256');
  });

  it('rejects a schedule whose Σpn² is not L', () => {
    expect(() => inferVARConfig(tiny, { patchNums: [1, 2, 3, 5] })).toThrow(/give 39 tokens .* L = 30/);
  });

  it('rejects a schedule with the right L but the wrong scales (lvl_1L disagrees)', () => {
    // 1 + 9 + 4 + 16 = 30 as well.
    expect(() => inferVARConfig(tiny, { patchNums: [1, 3, 2, 4] })).toThrow(/lvl_1L .*trained with \[1, 2, 3, 4\]/);
  });

  it('requires numHeads when attention is not l2-normalised, and checks it against scale_mul_1H11 otherwise', () => {
    const sd = { tensors: randomVARStateDict({ ...otherShape, l2Norm: false }) };
    expect(() => inferVARConfig(sd)).toThrow(UsageError);
    expect(() => inferVARConfig(sd)).toThrow(/numHeads/);
    const c = inferVARConfig(sd, { numHeads: 4 });
    expect([c.numHeads, c.headDim, c.attnL2Norm, c.attnScale]).toEqual([4, 4, false, 0.25 / 2]);
    expect(() => inferVARConfig(sd, { numHeads: 3 })).toThrow(/not divisible/);
    expect(() => inferVARConfig(tiny, { patchNums: TINY_PATCH_NUMS, numHeads: 8 })).toThrow(/numHeads is 8 .* 4 heads/);
  });

  it('detects shared AdaLN', () => {
    const c = inferVARConfig({ tensors: randomVARStateDict({ ...otherShape, sharedAdaLN: true }) });
    expect(c.sharedAdaLN).toBe(true);
  });

  it('says when the file is not a VAR transformer at all', async () => {
    const vae = await loadStateDict(fixture('vae.safetensors'));
    expect(() => inferVARConfig(vae)).toThrow(WeightsError);
    expect(() => inferVARConfig(vae)).toThrow(
      /not a VAR transformer checkpoint \(this looks like the VQ-VAE checkpoint\)/,
    );
  });
});

describe('strict VAR state dict check', () => {
  const load = (sd: ReturnType<typeof edited>) => VARTransformer.fromStateDict(sd, { patchNums: TINY_PATCH_NUMS });

  it('accepts the fixture as saved (with the int64 lvl_1L and the −inf attention bias buffers)', () => {
    expect(load(edited(() => {})).config.depth).toBe(2);
  });

  it('lists missing keys', () => {
    const sd = edited((m) => {
      m.delete('blocks.1.attn.proj.bias');
      m.delete('attn_bias_for_masking');
    });
    expect(() => load(sd)).toThrow(WeightsError);
    expect(() => load(sd)).toThrow(/edited\.safetensors: .*missing attn_bias_for_masking, blocks\.1\.attn\.proj\.bias/);
  });

  it('lists unexpected keys', () => {
    const sd = edited((m) => m.set('blocks.0.attn.extra', new Tensor([1])));
    expect(() => load(sd)).toThrow(/unexpected blocks\.0\.attn\.extra/);
  });

  it('names every shape mismatch', () => {
    const sd = edited((m) => m.set('blocks.0.ffn.fc2.bias', new Tensor([63])));
    expect(() => load(sd)).toThrow(/blocks\.0\.ffn\.fc2\.bias: expected \[64\], got \[63\]/);
  });
});
