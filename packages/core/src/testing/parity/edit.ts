/**
 * Zero-shot editing against the official code path (demo_zero_shot_edit.ipynb: get_edit_mask,
 * replace_embedding, autoregressive_infer_cfg_with_mask) on the tiny fixture, greedy sampling:
 * fixtures/var-tiny/edit/ (README.md there says how it was made). Every case of cases.json: the input's
 * tokens, the keep mask, the per-scale force masks, the sampled and the used tokens at every scale, and
 * the edited image. Plus model.edit (the pipeline) and its bad-input errors.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../../errors.js';
import { loadVAR } from '../../pipeline/load-var.js';
import { Tensor } from '../../tensor.js';
import { createExactTestRegistry } from '../exact-test-backend.js';
import { loadStateDict } from '../../weights/index.js';
import { VQVAE } from '../../models/vqvae/index.js';
import { editNextScale, type EditProgress } from '../../models/var/edit.js';
import { editMask, type EditBox, type EditMode } from '../../models/var/edit-mask.js';
import { exactContext, fixture, maxAbsDiff, TINY_PATCH_NUMS } from '../../models/var/test-support.js';
import { VARTransformer } from '../../models/var/var-transformer.js';

interface EditCase {
  name: string;
  box: [number, number, number, number];
  mode: EditMode;
  label: number;
  cfg: number;
  top_k: number;
  top_p: number;
  seed: number;
}
const CASES = (JSON.parse(readFileSync(fixture('edit/cases.json'), 'utf8')) as { cases: EditCase[] }).cases;
const IMAGE_ATOL = 2e-3;
const S = TINY_PATCH_NUMS.length;

const refs = (await loadStateDict(fixture('edit/refs.safetensors'))).tensors;
function ref(name: string): Tensor {
  const t = refs.get(name);
  if (!t) throw new Error(`edit/refs.safetensors has no ${name}`);
  return t;
}
const ints = (name: string) => Array.from(ref(name).data);

const transformer = VARTransformer.fromStateDict(await loadStateDict(fixture('var.safetensors')), {
  patchNums: TINY_PATCH_NUMS,
});
const vae = VQVAE.fromStateDict((await loadStateDict(fixture('vae.safetensors'))).tensors, {
  patchNums: TINY_PATCH_NUMS,
});
const input = ref('input.img_01');

it('the fixture covers in-painting, out-painting, a class edit, an unconditional edit and boxes on halves', () => {
  expect(CASES.map((c) => c.mode)).toContain('inpaint');
  expect(CASES.map((c) => c.mode)).toContain('outpaint');
  expect(CASES.some((c) => c.label === transformer.config.numClasses)).toBe(true);
  expect(CASES.some((c) => c.box.some((v) => (v * 4) % 1 === 0.5))).toBe(true);
});

describe.each(CASES)('$name ($mode, label $label, cfg $cfg)', (c) => {
  const run = (async () => {
    const captured = new Map<string, Tensor>();
    const ctx = await exactContext(captured);
    const keep = editMask(TINY_PATCH_NUMS.at(-1)!, c.box as EditBox, c.mode);
    const events: EditProgress[] = [];
    const result = await editNextScale(
      transformer,
      vae,
      {
        image: input,
        keep,
        labels: [c.label],
        cfg: c.cfg,
        topK: c.top_k,
        topP: c.top_p,
        seed: c.seed,
        onProgress: (e) => events.push(e),
      },
      ctx,
    );
    return { keep, result, captured, events, ctx };
  })();

  it('makes the reference keep mask (get_edit_mask)', async () => {
    const { keep } = await run;
    expect(Array.from(keep.data)).toEqual(ints(`${c.name}.keep`));
  });

  it('encodes the input to the reference tokens (img_to_idxBl)', async () => {
    const { result } = await run;
    for (let si = 0; si < S; si++)
      expect(Array.from(result.inputTokens[si]), `scale ${si}`).toEqual(ints(`input.idx.s${si}`));
  });

  it('forces the input tokens exactly where the reference does at every scale', async () => {
    const { result } = await run;
    for (let si = 0; si < S; si++)
      expect(Array.from(result.forced[si]), `scale ${si}`).toEqual(ints(`${c.name}.force.s${si}`));
  });

  it('samples the reference tokens and uses the reference tokens at every scale', async () => {
    const { result, captured } = await run;
    for (let si = 0; si < S; si++) {
      expect(Array.from(captured.get(`sampled.s${si}`)!.data), `sampled, scale ${si}`).toEqual(
        ints(`${c.name}.sampled.s${si}`),
      );
      expect(Array.from(result.tokens[si]), `used, scale ${si}`).toEqual(ints(`${c.name}.idx.s${si}`));
    }
  });

  it(`returns the edited image within ${IMAGE_ATOL}`, async () => {
    const { result } = await run;
    const expected = ref(`${c.name}.img_01`);
    expect(result.images.shape).toEqual(expected.shape);
    expect(maxAbsDiff(result.images.data, expected.data)).toBeLessThanOrEqual(IMAGE_ATOL); // 2–3e-6 here
  });

  it('reports encode, every scale and decode; routes the encoder and every block through the router', async () => {
    const { events, ctx } = await run;
    expect(events.map((e) => `${e.stage}:${e.scale}`)).toEqual([
      'encode:0',
      'transformer:1',
      'transformer:2',
      'transformer:3',
      'transformer:4',
      'decode:4',
    ]);
    const sites = new Set(ctx.trace.entries.map((e) => e.site));
    expect([...sites].some((s) => s.startsWith('vae.encoder') || s.startsWith('encoder'))).toBe(true);
    expect(sites.has('var.blocks.0.attn') && sites.has('var.blocks.1.attn')).toBe(true);
  });
});

describe('model.edit', () => {
  const registry = createExactTestRegistry();
  const modelP = loadVAR({
    var: fixture('var.safetensors'),
    vae: fixture('vae.safetensors'),
    patchNums: TINY_PATCH_NUMS,
    registry,
  });
  afterAll(async () => (await modelP).dispose());
  const c = CASES[0];
  const keep = editMask(4, c.box as EditBox, c.mode);
  const base = { image: input, keep, labels: [c.label], cfg: c.cfg, topK: 1, topP: 0, seed: 0 };

  it('gives the reference tokens and image, and the trace', async () => {
    const model = await modelP;
    const out = await model.edit(base);
    for (let si = 0; si < S; si++) expect(Array.from(out.tokens[si])).toEqual(ints(`${c.name}.idx.s${si}`));
    expect(maxAbsDiff(out.images.data, ref(`${c.name}.img_01`).data)).toBeLessThanOrEqual(IMAGE_ATOL);
    expect(out.trace.summary()['exact-test']).toBeGreaterThan(0);
  });

  it('edits one image once per label, with one mask or one per image, the same as separate edits', async () => {
    const model = await modelP;
    const other = CASES.find((x) => x.name.startsWith('classedit'))!;
    const keep2 = editMask(4, other.box as EditBox, other.mode);
    const both = new Tensor([2, 4, 4], Float32Array.from([...keep.data, ...keep2.data]));
    const out = await model.edit({ ...base, keep: both, labels: [c.label, other.label], cfg: 1.5 });
    const a = await model.edit({ ...base, cfg: 1.5 });
    const b = await model.edit({ ...base, keep: keep2, labels: [other.label], cfg: 1.5 });
    for (let si = 0; si < S; si++) {
      expect(Array.from(out.tokens[si])).toEqual([...a.tokens[si], ...b.tokens[si]]);
      expect(Array.from(out.forced[si])).toEqual([...a.forced[si], ...b.forced[si]]);
    }
    expect(out.images.shape).toEqual([2, 3, 16, 16]);
    expect(Array.from(out.images.data)).toEqual([...a.images.data, ...b.images.data]);
    // The class-conditional case of the fixture at cfg 1.5 is exactly `b`.
    for (let si = 0; si < S; si++) expect(Array.from(b.tokens[si])).toEqual(ints(`${other.name}.idx.s${si}`));
  });

  it('keeps the input tokens everywhere with an all-ones mask: the edit is the reconstruction', async () => {
    const model = await modelP;
    const out = await model.edit({ ...base, keep: new Tensor([4, 4], new Float32Array(16).fill(1)) });
    for (let si = 0; si < S; si++) expect(Array.from(out.tokens[si])).toEqual(ints(`input.idx.s${si}`));
    const decoded = await model.vae.decode(out.inputTokens);
    expect(maxAbsDiff(out.images.data, decoded.data)).toBe(0);
  });

  it('stops at once on an aborted signal', async () => {
    const model = await modelP;
    const ac = new AbortController();
    ac.abort();
    await expect(model.edit({ ...base, signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  const nan = input.data.slice();
  nan[5] = Number.NaN;
  const bad: [string, Record<string, unknown>, RegExp, typeof UsageError | typeof InputError][] = [
    [
      'an image of the wrong size',
      { image: new Tensor([1, 3, 8, 8]) },
      /image must be \(B, 3, 16, 16\).*got \(1, 3, 8, 8\)/,
      UsageError,
    ],
    ['a one-channel image', { image: new Tensor([1, 1, 16, 16]) }, /image must be \(B, 3, 16, 16\)/, UsageError],
    [
      'NaN in the image',
      { image: new Tensor([1, 3, 16, 16], nan) },
      /non-finite value \(NaN\) at flat index 5/,
      InputError,
    ],
    [
      'an image in [−1, 1]',
      {
        image: new Tensor(
          [1, 3, 16, 16],
          input.data.map((v) => v * 2 - 1),
        ),
      },
      /outside \[0, 1\]/,
      UsageError,
    ],
    ['more images than labels', { image: new Tensor([2, 3, 16, 16]) }, /2 images but there are 1 labels/, UsageError],
    [
      'a keep mask of the wrong shape',
      { keep: new Tensor([3, 3]) },
      /keep must be \(4, 4\) or \(B, 4, 4\).*got \(3, 3\)/,
      UsageError,
    ],
    [
      'a keep mask with other values',
      { keep: new Tensor([4, 4], new Float32Array(16).fill(0.5)) },
      /only 0 \(regenerate\) and 1 \(keep\), got 0.5/,
      UsageError,
    ],
    ['more masks than labels', { keep: new Tensor([3, 4, 4]) }, /3 masks but there are 1 labels/, UsageError],
    ['no image', { image: undefined }, /needs image/, UsageError],
    ['a bad label', { labels: [11] }, /not a class index/, UsageError],
  ];
  it.each(bad)('rejects %s with a clear error', async (_, change, message, type) => {
    const model = await modelP;
    const p = model.edit({ ...base, ...change } as never);
    await expect(p).rejects.toThrow(message);
    await expect(model.edit({ ...base, ...change } as never)).rejects.toBeInstanceOf(type);
  });
});
