/**
 * generate()'s onScale hook: awaited once per scale with f_hat so far, which is what the reference
 * builds at that scale, so a caller can decode the coarse-to-fine partial image.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionTrace } from '../attention/trace.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import type { ScaleEvent } from '../models/var/autoregressive.js';
import { fixture, maxAbsDiff, ref, REFS_JSON, TINY_PATCH_NUMS } from '../models/var/test-support.js';
import { loadVAR } from './load-var.js';

const model = await loadVAR({
  var: fixture('var.safetensors'),
  vae: fixture('vae.safetensors'),
  patchNums: TINY_PATCH_NUMS,
  registry: createExactTestRegistry(),
});
afterAll(() => model.dispose());
const labels = REFS_JSON.info['ar.labels'] as number[];
const greedy = { labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 };

describe('generate({ onScale })', () => {
  it('is awaited after every scale, in order, with the reference f_hat of that scale', async () => {
    const log: string[] = [];
    const fhats: { scale: number; data: Float32Array }[] = [];
    const out = await model.generate({
      ...greedy,
      onProgress: (e) => log.push(`${e.stage} ${e.scale}`),
      onScale: async (e: ScaleEvent) => {
        expect(e.scales).toBe(4);
        fhats.push({ scale: e.scale, data: e.fHat.data.slice() });
        await new Promise((r) => setTimeout(r, 5));
        log.push(`hook ${e.scale} done`);
      },
    });
    expect(log).toEqual([
      'transformer 1',
      'hook 1 done',
      'transformer 2',
      'hook 2 done',
      'transformer 3',
      'hook 3 done',
      'transformer 4',
      'hook 4 done',
      'decode 4',
    ]);
    expect(fhats.map((f) => f.scale)).toEqual([1, 2, 3, 4]);
    for (const [si, f] of fhats.entries())
      expect(maxAbsDiff(f.data, (await ref(`ar.cfg1p5.fhat.s${si}`)).data), `scale ${si}`).toBeLessThanOrEqual(1e-4);
    // The last f_hat decodes to the generated images exactly; the hook changes nothing.
    const last = await model.vae.model.tokensToFhat(out.tokens);
    expect(Array.from(last.data)).toEqual(Array.from(fhats[3].data));
    const plain = await model.generate(greedy);
    expect(Array.from(plain.images.data)).toEqual(Array.from(out.images.data));
    const decoded = await model.vae.model.fhatToImage(last, { router: model.router, trace: new AttentionTrace() });
    expect(Array.from(decoded.data.map((v) => (v + 1) * 0.5))).toEqual(Array.from(out.images.data));
  });

  it('stops the generation when the hook throws', async () => {
    const err = await model
      .generate({
        ...greedy,
        onScale: (e) => {
          if (e.scale === 2) throw new Error('preview failed');
        },
      })
      .catch((x) => x);
    expect(err.message).toBe('preview failed');
  });
});
