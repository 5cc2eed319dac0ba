/**
 * VQ-VAEs of other shapes than the fixture build and run without code changes, and the public entry
 * points reject bad input clearly. Weights are random: these tests check structure, not values.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError, InputError, WeightsError } from '../../errors.js';
import { Rng } from '../../random.js';
import { Tensor } from '../../tensor.js';
import { inferVQVAEConfig, type VQVAEConfig } from './config.js';
import { exactRun, maxAbsDiff, randomVQVAEStateDict } from './test-support.js';
import { VQVAE } from './vqvae.js';

const OFFICIAL_SMALL: VQVAEConfig = {
  vocabSize: 16,
  Cvae: 4,
  ch: 32,
  chMult: [1, 1, 2, 2, 4],
  numResBlocks: 2,
  usingSa: true,
  usingMidSa: true,
  shareQuantResi: 4,
  numPhi: 4,
  quantResi: 0.5,
  numScales: 4,
  inChannels: 3,
};

function randomTokens(patchNums: readonly number[], B: number, V: number, seed = 3): Int32Array[] {
  const rng = new Rng(seed);
  return patchNums.map((pn) => Int32Array.from({ length: B * pn * pn }, () => rng.nextUint32() % V));
}

describe('official topology with small channel counts (ch=32, ch_mult (1,1,2,2,4), Cvae 4, V 16)', async () => {
  const patchNums = [1, 2, 3, 4];
  const sd = randomVQVAEStateDict(OFFICIAL_SMALL);
  const vae = VQVAE.fromStateDict(sd, { patchNums });

  it('infers the configuration and the image size (4 · 2^4 = 64)', () => {
    expect(sd.size).toBe(324);
    expect(vae.config).toEqual(OFFICIAL_SMALL);
    expect(vae.downsampleRatio).toBe(16);
    expect(vae.imageSize).toBe(64);
    expect(vae.quantizer.phiIndexPerScale).toEqual([0, 1, 2, 3]);
  });

  it('decodes random tokens to (B, 3, 64, 64) in [0, 1], routing all 4 attention layers', async () => {
    const run = await exactRun();
    const B = 2;
    const img = await vae.decode(randomTokens(patchNums, B, 16), run);
    expect(img.shape).toEqual([B, 3, 64, 64]);
    expect(img.data.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(maxAbsDiff(img.data.subarray(0, 100), img.data.subarray(100, 200))).toBeGreaterThan(0); // not a constant image
    expect(run.trace.entries.map((e) => e.site)).toEqual([
      'vae.decoder.mid.attn_1',
      'vae.decoder.up.4.attn.0',
      'vae.decoder.up.4.attn.1',
      'vae.decoder.up.4.attn.2',
    ]);
  });

  it('encodes a (1, 3, 64, 64) image into one B·pn² token map per scale', async () => {
    const run = await exactRun();
    const img = new Tensor(
      [1, 3, 64, 64],
      new Rng(5).normalArray(3 * 64 * 64, 0.5).map((x) => Math.max(-1, Math.min(1, x))),
    );
    const tokens = await vae.encode(img, run);
    expect(tokens.map((t) => t.length)).toEqual([1, 4, 9, 16]);
    expect(tokens.every((t) => t.every((v) => v >= 0 && v < 16))).toBe(true);
    expect(run.trace.entries.map((e) => e.site)).toEqual([
      'vae.encoder.down.4.attn.0',
      'vae.encoder.down.4.attn.1',
      'vae.encoder.mid.attn_1',
    ]);
  });
});

describe('Phi sharing modes', async () => {
  // Smallest GroupNorm-valid plan: ch 32, two levels → ×2 down-sampling, image 8² for patchNums ending in 4.
  const base: VQVAEConfig = { ...OFFICIAL_SMALL, chMult: [1, 2], numResBlocks: 1 };
  const patchNums = [1, 2, 3, 4];
  const partial = randomVQVAEStateDict(base, 7);
  const tokens = randomTokens(patchNums, 2, 16, 11);

  /** The partially-shared dict with its Phis renamed (and possibly collapsed) into another sharing mode. */
  function withPhis(phis: [string, number][]): Map<string, Tensor> {
    const sd = new Map([...partial].filter(([k]) => !k.startsWith('quantize.quant_resi.')));
    for (const [prefix, from] of phis) {
      sd.set(`${prefix}.weight`, partial.get(`quantize.quant_resi.qresi_ls.${from}.weight`)!);
      sd.set(`${prefix}.bias`, partial.get(`quantize.quant_resi.qresi_ls.${from}.bias`)!);
    }
    return sd;
  }

  async function decode(sd: Map<string, Tensor>): Promise<Tensor> {
    return VQVAE.fromStateDict(sd, { patchNums }).decode(tokens, await exactRun());
  }

  it('share_quant_resi=1 (one qresi) equals K=4 partial sharing whose Phis are all that conv', async () => {
    const shared = withPhis([['quantize.quant_resi.qresi', 2]]);
    const cfg = inferVQVAEConfig(shared, 'shared');
    expect([cfg.shareQuantResi, cfg.numPhi]).toEqual([1, 1]);
    const vae = VQVAE.fromStateDict(shared, { patchNums });
    expect(vae.quantizer.phiIndexPerScale).toEqual([0, 0, 0, 0]);
    const allTwo = withPhis([0, 1, 2, 3].map((k) => [`quantize.quant_resi.qresi_ls.${k}`, 2] as [string, number]));
    expect(maxAbsDiff((await decode(shared)).data, (await decode(allTwo)).data)).toBe(0);
    // …and differs from the genuinely partially-shared model, so the Phis matter.
    expect(maxAbsDiff((await decode(shared)).data, (await decode(partial)).data)).toBeGreaterThan(1e-4);
  });

  it('share_quant_resi=0 (one Phi per scale) equals partial sharing with the same K=4 convs', async () => {
    const perScale = withPhis([0, 1, 2, 3].map((k) => [`quantize.quant_resi.${k}`, k] as [string, number]));
    const cfg = inferVQVAEConfig(perScale, 'per-scale');
    expect([cfg.shareQuantResi, cfg.numPhi]).toEqual([0, 4]);
    expect(maxAbsDiff((await decode(perScale)).data, (await decode(partial)).data)).toBe(0);
  });

  it('share_quant_resi=0 with 3 Phis for 4 scales picks them by linspace(1/6, 5/6, 3)', () => {
    const three = withPhis([0, 1, 2].map((k) => [`quantize.quant_resi.${k}`, k] as [string, number]));
    // at = 0, 1/3, 2/3, 1 against ticks 1/6, 1/2, 5/6; numpy gives [0, 0, 1, 2] (1/3 is a near-tie settled by rounding).
    expect(VQVAE.fromStateDict(three, { patchNums }).quantizer.phiIndexPerScale).toEqual([0, 0, 1, 2]);
  });
});

describe('quantizer building blocks', () => {
  const vae = VQVAE.fromStateDict(
    randomVQVAEStateDict({ ...OFFICIAL_SMALL, chMult: [1, 2], numResBlocks: 1, numScales: 3 }, 9),
    { patchNums: [1, 2, 4] },
  );
  const q = vae.quantizer;

  it('lookup places codebook row idx[b, p] at (b, :, p)', () => {
    const idx = Int32Array.from([3, 0, 15, 7, 1, 2, 3, 4]);
    const h = q.lookup(idx, 2, 2);
    expect(h.shape).toEqual([2, 4, 2, 2]);
    for (let b = 0; b < 2; b++)
      for (let p = 0; p < 4; p++)
        for (let c = 0; c < 4; c++) expect(h.data[(b * 4 + c) * 4 + p]).toBe(q.embedding.data[idx[b * 4 + p] * 4 + c]);
  });

  it('nearestCodes maps each codebook vector to itself', () => {
    const z = q.lookup(
      Int32Array.from({ length: 16 }, (_, i) => i),
      1,
      4,
    );
    expect(Array.from(q.nearestCodes(z))).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it('nearestCodes breaks exact ties towards the first index, like torch.argmin', () => {
    const sd = randomVQVAEStateDict({ ...OFFICIAL_SMALL, chMult: [1, 2], numResBlocks: 1, numScales: 3 }, 9);
    const e = sd.get('quantize.embedding.weight')!.data;
    e.copyWithin(5 * 4, 2 * 4, 3 * 4); // row 5 := row 2
    const dup = VQVAE.fromStateDict(sd, { patchNums: [1, 2, 4] }).quantizer;
    expect(dup.nearestCodes(dup.lookup(Int32Array.from([5, 2]), 2, 1))).toEqual(Int32Array.from([2, 2]));
  });

  it('rejects tokens outside the vocabulary and maps of the wrong size', async () => {
    const run = await exactRun();
    expect(() => q.lookup(Int32Array.from([16]), 1, 1)).toThrow(InputError);
    expect(() => q.lookup(Int32Array.from([-1]), 1, 1)).toThrow(/outside \[0, 16\)/);
    await expect(vae.decode([Int32Array.from([0]), new Int32Array(3), new Int32Array(16)], run)).rejects.toThrow(
      InputError,
    );
    await expect(vae.decode([Int32Array.from([0])], run)).rejects.toThrow(/expected 3 token maps/);
  });
});

describe('VQVAE input validation', () => {
  const cfg: VQVAEConfig = { ...OFFICIAL_SMALL, chMult: [1, 2], numResBlocks: 1 };
  const vae = VQVAE.fromStateDict(randomVQVAEStateDict(cfg), { patchNums: [1, 2, 3, 4] });

  it('rejects images of the wrong size or with non-finite values', async () => {
    const run = await exactRun();
    await expect(vae.encode(new Tensor([1, 3, 16, 16]), run)).rejects.toThrow(/\(B, 3, 8, 8\)/);
    const nan = new Tensor([1, 3, 8, 8]);
    nan.data[7] = NaN;
    await expect(vae.encode(nan, run)).rejects.toThrow(InputError);
  });

  it('rejects a patch schedule whose length differs from the checkpoint’s', () => {
    expect(() => VQVAE.fromStateDict(randomVQVAEStateDict(cfg), { patchNums: [1, 2, 4], file: 'v.pth' })).toThrow(
      WeightsError,
    );
    expect(() => VQVAE.fromStateDict(randomVQVAEStateDict(cfg), { patchNums: [4] })).toThrow(/at least 2/);
  });

  it('stops between modules when the signal is aborted', async () => {
    const run = await exactRun();
    const ctl = new AbortController();
    ctl.abort();
    await expect(vae.decode(randomTokens([1, 2, 3, 4], 1, 16), { ...run, signal: ctl.signal })).rejects.toThrow(
      AbortedError,
    );
  });
});
