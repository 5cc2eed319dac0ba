import { describe, expect, it } from 'vitest';
import { WeightsError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { loadStateDict } from '../../weights/index.js';
import { inferVQVAEConfig, validateVQVAEStateDict, vqvaeStateDictShapes, type VQVAEConfig } from './config.js';
import { CONFIG, fixture } from './test-support.js';

const OFFICIAL: VQVAEConfig = {
  vocabSize: 4096,
  Cvae: 32,
  ch: 160,
  chMult: [1, 1, 2, 2, 4],
  numResBlocks: 2,
  usingSa: true,
  usingMidSa: true,
  shareQuantResi: 4,
  numPhi: 4,
  quantResi: 0.5,
  numScales: 10,
  inChannels: 3,
};

/** Shape-only tensors: validation never reads data, so the official 109M-parameter shapes cost nothing. */
function shapeOnly(shapes: Map<string, number[]>): Map<string, Tensor> {
  const sd = new Map<string, Tensor>();
  for (const [k, s] of shapes) sd.set(k, { shape: s, data: new Float32Array(0) } as unknown as Tensor);
  return sd;
}

function catchWeightsError(f: () => unknown): WeightsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(WeightsError);
    return err as WeightsError;
  }
  throw new Error('expected a WeightsError');
}

describe('inferVQVAEConfig on the tiny fixture', async () => {
  const sd = await loadStateDict(fixture('vae.safetensors'));

  it('reads every hyper-parameter that config.json records', () => {
    const cfg = inferVQVAEConfig(sd.tensors, 'vae.safetensors');
    const v = CONFIG.vae;
    expect(cfg).toMatchObject({
      vocabSize: v.vocab_size,
      Cvae: v.Cvae,
      ch: v.ch,
      chMult: v.ch_mult,
      numResBlocks: v.num_res_blocks,
      usingSa: v.using_sa,
      usingMidSa: v.using_mid_sa,
      shareQuantResi: v.share_quant_resi,
      numPhi: v.share_quant_resi,
      quantResi: v.quant_resi,
      numScales: CONFIG.patch_nums.length,
    });
    expect(cfg.Cvae).toBe(v.z_channels);
  });

  it('the expected key list equals the official state_dict (keys, order and shapes from config.json)', () => {
    const cfg = inferVQVAEConfig(sd.tensors, 'vae.safetensors');
    const expected = vqvaeStateDictShapes(cfg);
    expect([...expected.keys()]).toEqual(Object.keys(CONFIG.state_dict_shapes.vae));
    expect(Object.fromEntries(expected)).toEqual(CONFIG.state_dict_shapes.vae);
    expect([...sd.tensors.keys()]).toEqual([...expected.keys()]);
    expect(() => validateVQVAEStateDict(sd.tensors, cfg, 'vae.safetensors')).not.toThrow();
  });
});

describe('the official topology (spec Appendix B)', () => {
  const shapes = vqvaeStateDictShapes(OFFICIAL);

  it('has exactly 324 keys', () => {
    expect(shapes.size).toBe(324);
  });

  it('matches Appendix B entries that exercise every rule', () => {
    const B: Record<string, number[]> = {
      'encoder.conv_in.weight': [160, 3, 3, 3],
      'encoder.down.2.block.0.nin_shortcut.weight': [320, 160, 1, 1],
      'encoder.down.3.downsample.conv.weight': [320, 320, 3, 3],
      'encoder.down.4.block.0.nin_shortcut.weight': [640, 320, 1, 1],
      'encoder.down.4.attn.1.qkv.weight': [1920, 640, 1, 1],
      'encoder.mid.attn_1.proj_out.bias': [640],
      'encoder.conv_out.weight': [32, 640, 3, 3],
      'decoder.conv_in.weight': [640, 32, 3, 3],
      'decoder.up.0.block.2.conv2.bias': [160],
      'decoder.up.1.block.0.nin_shortcut.weight': [160, 320, 1, 1],
      'decoder.up.1.upsample.conv.weight': [160, 160, 3, 3],
      'decoder.up.3.block.0.conv1.weight': [320, 640, 3, 3],
      'decoder.up.4.attn.2.qkv.bias': [1920],
      'decoder.up.4.upsample.conv.weight': [640, 640, 3, 3],
      'decoder.norm_out.weight': [160],
      'decoder.conv_out.weight': [3, 160, 3, 3],
      'quantize.ema_vocab_hit_SV': [10, 4096],
      'quantize.quant_resi.qresi_ls.3.weight': [32, 32, 3, 3],
      'quantize.embedding.weight': [4096, 32],
      'post_quant_conv.bias': [32],
    };
    for (const [k, s] of Object.entries(B)) expect(shapes.get(k), k).toEqual(s);
    for (const absent of [
      'decoder.up.0.upsample.conv.weight',
      'encoder.down.4.downsample.conv.weight',
      'decoder.up.3.attn.0.norm.weight',
      'decoder.up.4.block.0.nin_shortcut.weight',
    ]) {
      expect(shapes.has(absent), absent).toBe(false);
    }
    const keys = [...shapes.keys()];
    expect(keys[0]).toBe('encoder.conv_in.weight');
    expect(keys.slice(-6)).toEqual([
      'quantize.quant_resi.qresi_ls.3.bias',
      'quantize.embedding.weight',
      'quant_conv.weight',
      'quant_conv.bias',
      'post_quant_conv.weight',
      'post_quant_conv.bias',
    ]);
  });

  it('inference recovers the configuration from the shapes alone', () => {
    const sd = shapeOnly(shapes);
    expect(inferVQVAEConfig(sd, 'official')).toEqual(OFFICIAL);
    expect(() => validateVQVAEStateDict(sd, OFFICIAL, 'official')).not.toThrow();
  });
});

describe('share_quant_resi variants and other shapes', () => {
  const small: VQVAEConfig = { ...OFFICIAL, ch: 32, Cvae: 4, vocabSize: 16, numScales: 4 };

  it.each([
    [1, 1, 'quantize.quant_resi.qresi.weight'],
    [0, 4, 'quantize.quant_resi.3.weight'],
    [0, 6, 'quantize.quant_resi.5.weight'],
    [3, 3, 'quantize.quant_resi.qresi_ls.2.weight'],
  ])('share_quant_resi=%i with %i Phi(s) is inferred from keys like %s', (share, numPhi, key) => {
    const cfg = { ...small, shareQuantResi: share, numPhi };
    const shapes = vqvaeStateDictShapes(cfg);
    expect(shapes.get(key)).toEqual([4, 4, 3, 3]);
    const phiKeys = [...shapes.keys()].filter((k) => k.startsWith('quantize.quant_resi.'));
    expect(phiKeys).toHaveLength(2 * numPhi);
    expect(inferVQVAEConfig(shapeOnly(shapes), 'x')).toEqual(cfg);
  });

  it('infers num_res_blocks, using_sa and using_mid_sa when they differ from the defaults', () => {
    const cfg: VQVAEConfig = { ...small, chMult: [1, 2], numResBlocks: 1, usingSa: false, usingMidSa: false };
    const shapes = vqvaeStateDictShapes(cfg);
    expect([...shapes.keys()].some((k) => k.includes('attn'))).toBe(false);
    expect(shapes.has('decoder.up.1.block.1.conv1.weight')).toBe(true); // decoder: numResBlocks + 1
    expect(shapes.has('decoder.up.1.block.2.conv1.weight')).toBe(false);
    expect(inferVQVAEConfig(shapeOnly(shapes), 'x')).toEqual(cfg);
  });
});

describe('strict validation errors', () => {
  const cfg: VQVAEConfig = { ...OFFICIAL, ch: 32, Cvae: 4, vocabSize: 16, numScales: 4 };
  const base = () => shapeOnly(vqvaeStateDictShapes(cfg));

  it('lists missing keys with a count', () => {
    const sd = base();
    const dropped = [...sd.keys()].filter((k) => k.startsWith('decoder.up.2.'));
    for (const k of dropped) sd.delete(k);
    const err = catchWeightsError(() => validateVQVAEStateDict(sd, inferVQVAEConfig(sd, 'vae.bin'), 'vae.bin'));
    expect(err.message).toContain('vae.bin');
    expect(err.message).toContain(`missing ${dropped.length} key(s)`);
    expect(err.message).toContain('decoder.up.2.block.0.norm1.weight');
    expect(err.message).toContain(`(${dropped.length} in all)`);
  });

  it('lists unexpected keys', () => {
    const sd = base();
    sd.set('decoder.extra.weight', new Tensor([1]));
    sd.set('quantize.other', new Tensor([1]));
    const err = catchWeightsError(() => validateVQVAEStateDict(sd, inferVQVAEConfig(sd, 'f'), 'f'));
    expect(err.message).toContain('unexpected 2 key(s): decoder.extra.weight, quantize.other');
  });

  it('names the key, expected and actual shape on a mismatch', () => {
    const sd = base();
    sd.set('decoder.up.1.block.0.conv2.weight', new Tensor([32, 32, 1, 1]));
    const err = catchWeightsError(() => validateVQVAEStateDict(sd, inferVQVAEConfig(sd, 'f'), 'f'));
    expect(err.message).toContain('decoder.up.1.block.0.conv2.weight: expected [32, 32, 3, 3], got [32, 32, 1, 1]');
  });

  it('rejects a file that is not a VQ-VAE at all', () => {
    const sd = new Map([['blocks.0.attn.proj.weight', new Tensor([2, 2])]]);
    expect(catchWeightsError(() => inferVQVAEConfig(sd, 'var.pth')).message).toMatch(
      /var\.pth: not a VAR VQ-VAE state dict: missing encoder\.conv_in\.weight/,
    );
  });

  it('rejects channel counts GroupNorm(32) cannot split', () => {
    const bad: VQVAEConfig = { ...cfg, ch: 16 };
    const sd = shapeOnly(vqvaeStateDictShapes(bad));
    expect(catchWeightsError(() => validateVQVAEStateDict(sd, inferVQVAEConfig(sd, 'f'), 'f')).message).toMatch(
      /GroupNorm\(32\)/,
    );
  });
});
