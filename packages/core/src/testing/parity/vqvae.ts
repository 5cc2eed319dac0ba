/**
 * Number-for-number parity with the released PyTorch VQ-VAE on the tiny fixture (refs.safetensors):
 * the decode path from fixed tokens, the encode path from a fixed image, and per-module traces.
 * Each float group's worst |diff| is printed so regressions in precision are visible, not only failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { loadStateDict } from '../../weights/index.js';
import type { VQVAERunOptions } from '../../models/vqvae/context.js';
import { batchItem, CONFIG, exactRun, fixture, maxAbsDiff, REFS_INDEX } from '../../models/vqvae/test-support.js';
import { VQVAE } from '../../models/vqvae/vqvae.js';

const ATOL = 1e-4;
const PREFIXES = ['vae_dec.', 'vae_trace.decoder.', 'vae_trace.encoder.', 'enc.'];
const refs = (await loadStateDict(fixture('refs.safetensors'))).tensors;
const S = CONFIG.patch_nums.length;
const B = REFS_INDEX.tensors['vae_dec.idx.s0'].shape[0];

function ref(name: string): Tensor {
  const t = refs.get(name);
  if (!t) throw new Error(`refs.safetensors has no ${name}`);
  expect(t.shape, name).toEqual(REFS_INDEX.tensors[name].shape);
  return t;
}

/** Indices are stored as I32 and loaded as float32 (exact for these small integers). */
function refIndices(name: string): Int32Array {
  return Int32Array.from(ref(name).data);
}

function hookInto(run: VQVAERunOptions, prefix: string, into: Map<string, Tensor>): VQVAERunOptions {
  return { ...run, onModule: (name, t) => name.startsWith(prefix) && into.set(name, t) };
}

describe.each(['vae.safetensors', 'vae.pth'])('VQ-VAE parity, weights from %s', (file) => {
  let vae: VQVAE;
  const compared = new Set<string>();
  const worst = new Map<string, number>();

  function close(name: string, got: Tensor): void {
    const want = ref(name);
    expect(got.shape, name).toEqual(want.shape);
    const d = maxAbsDiff(got.data, want.data);
    const group = name.startsWith('vae_trace.')
      ? name.split('.').slice(0, 2).join('.')
      : name.replace(/\.s\d+$/, '.sK');
    worst.set(group, Math.max(worst.get(group) ?? 0, d));
    compared.add(name);
    expect(d, `${name} max|diff|`).toBeLessThanOrEqual(ATOL);
  }

  function sameIndices(name: string, got: Int32Array): void {
    const want = refIndices(name);
    expect(got.length, name).toBe(want.length);
    const wrong = got.findIndex((v, i) => v !== want[i]);
    expect(wrong, `${name}: first mismatching token (got ${got[wrong]}, want ${want[wrong]})`).toBe(-1);
    compared.add(name);
  }

  beforeAll(async () => {
    const sd = await loadStateDict(fixture(file));
    vae = VQVAE.fromStateDict(sd.tensors, { patchNums: CONFIG.patch_nums, file });
  });

  afterAll(() => {
    const summary = [...worst].map(([g, d]) => `${g}=${d.toExponential(2)}`).join('  ');
    console.log(`[${file}] max |diff| per group: ${summary}`);
  });

  it('has the fixture image size', () => {
    expect(vae.imageSize).toBe(CONFIG.image_size);
    expect(vae.quantizer.phiIndexPerScale).toEqual(CONFIG.vae.phi_index_per_scale);
  });

  it('vae_dec: cumulative f_hat and next-scale maps (get_next_autoregressive_input)', async () => {
    const H = CONFIG.patch_nums[S - 1];
    const fHat = new Tensor([B, vae.config.Cvae, H, H]);
    for (let si = 0; si < S; si++) {
      const pn = CONFIG.patch_nums[si];
      const h = vae.quantizer.lookup(refIndices(`vae_dec.idx.s${si}`), B, pn);
      const next = await vae.quantizer.nextAutoregressiveInput(si, fHat, h);
      close(`vae_dec.fhat.s${si}`, fHat);
      if (si < S - 1) close(`vae_dec.next_map.s${si}`, next);
      else expect(next).toBe(fHat); // the last scale returns f_hat itself
      compared.add(`vae_dec.idx.s${si}`);
    }
  });

  it('vae_dec: var_input (idxBl_to_var_input)', async () => {
    const idx = Array.from({ length: S }, (_, si) => refIndices(`vae_dec.idx.s${si}`));
    close('vae_dec.var_input', await vae.quantizer.idxToVarInput(idx, B));
    // The last scale is never used, so it may be omitted.
    close('vae_dec.var_input', await vae.quantizer.idxToVarInput(idx.slice(0, S - 1), B));
  });

  it('vae_dec: post_quant_conv, img_raw, img_pm1, img_01 and the decoder trace', async () => {
    const run = await exactRun();
    const seen = new Map<string, Tensor>();
    const tokens = Array.from({ length: S }, (_, si) => refIndices(`vae_dec.idx.s${si}`));
    const img01 = await vae.decode(tokens, { ...run, onModule: (n, t) => seen.set(n, t) });
    close('vae_dec.post_quant_conv', seen.get('post_quant_conv')!);
    close('vae_dec.img_raw', seen.get('decoder.conv_out')!);
    close('vae_dec.img_01', img01);
    const pm1 = await vae.fhatToImage(await vae.tokensToFhat(tokens), run);
    close('vae_dec.img_pm1', pm1);
    expect(Math.min(...pm1.data)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...pm1.data)).toBeLessThanOrEqual(1);

    const traced = Object.keys(REFS_INDEX.tensors).filter((k) => k.startsWith('vae_trace.decoder.'));
    expect(traced.length).toBeGreaterThan(0);
    for (const name of traced) {
      const module = name.slice('vae_trace.'.length);
      expect(seen.has(module), `no output recorded for ${module}`).toBe(true);
      close(name, batchItem(seen.get(module)!, 0));
    }
    // Every attention layer went through the router, once per call, to the exact backend.
    const sites = run.trace.entries.map((e) => e.site);
    expect(sites).toContain('vae.decoder.mid.attn_1');
    expect(sites).toContain(`vae.decoder.up.${vae.config.chMult.length - 1}.attn.0`);
    expect(run.trace.entries.every((e) => e.backend === 'exact-test' && e.heads.length === 1)).toBe(true);
  });

  it('enc: f, exact indices, cumulative f_hat, reconstruction and the encoder trace', async () => {
    const run = await exactRun();
    const img = ref('enc.img');
    compared.add('enc.img');
    const seen = new Map<string, Tensor>();
    const f = await vae.encodeFeatures(img, hookInto(run, 'encoder.', seen));
    close('enc.f', f);
    const idx = await vae.quantizer.encodeFeatures(f);
    expect(idx).toHaveLength(S);
    idx.forEach((t, si) => sameIndices(`enc.idx.s${si}`, t));
    (await vae.quantizer.fhatFromFeatures(f)).forEach((t, si) => close(`enc.fhat.s${si}`, t));
    // The full image → tokens entry point agrees with the two steps above.
    const direct = await vae.encode(img, run);
    direct.forEach((t, si) => sameIndices(`enc.idx.s${si}`, t));
    close('enc.recon_pm1', await vae.reconstruct(img, run));

    const traced = Object.keys(REFS_INDEX.tensors).filter((k) => k.startsWith('vae_trace.encoder.'));
    expect(traced.length).toBeGreaterThan(0);
    for (const name of traced) {
      const module = name.slice('vae_trace.'.length);
      expect(seen.has(module), `no output recorded for ${module}`).toBe(true);
      close(name, batchItem(seen.get(module)!, 0));
    }
  });

  it('compared every vae_dec / vae_trace / enc reference', () => {
    const all = Object.keys(REFS_INDEX.tensors).filter((k) => PREFIXES.some((p) => k.startsWith(p)));
    expect(all.filter((k) => !compared.has(k))).toEqual([]);
  });
});
