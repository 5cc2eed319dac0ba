import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../plugs/registry.js';
import { AbortedError, BackendUnavailableError, InputError, UsageError, WeightsError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { loadStateDict } from '../weights/index.js';
import type { GenerateProgress } from '../models/var/autoregressive.js';
import { fixture, maxAbsDiff, ref, refIndices, REFS_JSON, TINY_PATCH_NUMS } from '../models/var/test-support.js';
import { loadVAR } from './load-var.js';
import { VARModel } from './var-model.js';

const registry = createExactTestRegistry();
const models = await Promise.all(
  (['safetensors', 'pth'] as const).map((ext) =>
    loadVAR({ var: fixture(`var.${ext}`), vae: fixture(`vae.${ext}`), patchNums: TINY_PATCH_NUMS, registry }),
  ),
);
const model = models[0];
afterAll(() => Promise.all(models.map((m) => m.dispose())));
const labels = REFS_JSON.info['ar.labels'] as number[];

describe('loadVAR on the tiny fixture', () => {
  it.each([0, 1])('loads model %i (safetensors, pth) with the inferred config', (i) => {
    const m = models[i];
    expect(m.config).toMatchObject({
      depth: 2,
      embedDim: 64,
      numHeads: 4,
      vocabSize: 64,
      cvae: 8,
      numClasses: 10,
      patchNums: [1, 2, 3, 4],
    });
    expect(m.vae.imageSize).toBe(16);
    expect(m.classNames).toBeUndefined();
  });

  it.each([0, 1])('model %i: greedy generate() returns the reference tokens and images, and its trace', async (i) => {
    const out = await models[i].generate({ labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 });
    for (let si = 0; si < 4; si++)
      expect(Array.from(out.tokens[si])).toEqual(Array.from(await refIndices(`ar.cfg1p5.idx.s${si}`)));
    expect(out.images.shape).toEqual([2, 3, 16, 16]);
    expect(maxAbsDiff(out.images.data, (await ref('ar.cfg1p5.img_01')).data)).toBeLessThanOrEqual(1e-4);
    expect(out.trace.summary()['exact-test']).toBeGreaterThan(0);
    expect(out.trace.entries.some((e) => e.site === 'var.blocks.1.attn')).toBe(true);
  });

  it.each([0, 1])('model %i: forward() gives the teacher-forcing logits', async (i) => {
    const logits = await models[i].forward(Array.from((await ref('tf.label')).data), await ref('tf.x_BLCv_wo_first_l'));
    expect(logits.shape).toEqual([2, 30, 64]);
    expect(maxAbsDiff(logits.data, (await ref('tf.logits')).data)).toBeLessThanOrEqual(1e-4);
  });

  it('vae.encode and vae.decode need no router and match the reference', async () => {
    const tokens = await model.vae.encode(await ref('enc.img'));
    for (let si = 0; si < 4; si++)
      expect(Array.from(tokens[si])).toEqual(Array.from(await refIndices(`enc.idx.s${si}`)));
    const greedy = await model.generate({ labels, cfg: 1, topK: 1, topP: 0, seed: 3 });
    const decoded = await model.vae.decode(greedy.tokens);
    expect(maxAbsDiff(decoded.data, (await ref('ar.cfg1.img_01')).data)).toBeLessThanOrEqual(1e-4);
  });

  it('encoder: false leaves the encoder unread: generation unchanged, vae.encode refused in one line', async () => {
    const noEncoder = await loadVAR({
      var: fixture('var.safetensors'),
      vae: fixture('vae.safetensors'),
      patchNums: TINY_PATCH_NUMS,
      registry,
      encoder: false,
    });
    try {
      const out = await noEncoder.generate({ labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 });
      expect(maxAbsDiff(out.images.data, (await ref('ar.cfg1p5.img_01')).data)).toBeLessThanOrEqual(1e-4);
      await expect(noEncoder.vae.encode(await ref('enc.img'))).rejects.toThrow(
        new UsageError(
          'this model was loaded without the VQ-VAE encoder (encoder: false), so it cannot encode images; load it with the encoder to edit or reconstruct',
        ),
      );
    } finally {
      await noEncoder.dispose();
    }
  });

  it('sampling with the same seed gives the same output; another seed another one', async () => {
    const opts = { labels: [1, 4, 10], cfg: 2, topK: 30, topP: 0.9 };
    const a = await model.generate({ ...opts, seed: 42 });
    const b = await model.generate({ ...opts, seed: 42 });
    const c = await model.generate({ ...opts, seed: 43 });
    expect(a.tokens.map((t) => Array.from(t))).toEqual(b.tokens.map((t) => Array.from(t)));
    expect(Array.from(a.images.data)).toEqual(Array.from(b.images.data));
    expect(a.tokens.map((t) => Array.from(t))).not.toEqual(c.tokens.map((t) => Array.from(t)));
    expect(a.tokens.map((t) => t.length)).toEqual([3, 12, 27, 48]);
    expect(a.images.shape).toEqual([3, 3, 16, 16]);
    expect(a.images.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('more_smooth builds the image from soft token mixtures', async () => {
    const opts = { labels: [1, 4], cfg: 1.5, topK: 30, topP: 0.9, seed: 5 };
    const hard = await model.generate(opts);
    const soft = await model.generate({ ...opts, moreSmooth: true });
    expect(soft.images.shape).toEqual([2, 3, 16, 16]);
    expect(soft.images.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(maxAbsDiff(soft.images.data, hard.images.data)).toBeGreaterThan(1e-3);
    // The soft image is not the decode of the sampled tokens.
    expect(maxAbsDiff(soft.images.data, (await model.vae.decode(soft.tokens)).data)).toBeGreaterThan(1e-3);
  });

  it('reports progress per scale, then the decode', async () => {
    const events: GenerateProgress[] = [];
    await model.generate({ labels: [0], topK: 1, topP: 0, onProgress: (e) => events.push(e) });
    expect(events).toEqual([
      { stage: 'transformer', scale: 1, scales: 4 },
      { stage: 'transformer', scale: 2, scales: 4 },
      { stage: 'transformer', scale: 3, scales: 4 },
      { stage: 'transformer', scale: 4, scales: 4 },
      { stage: 'decode', scale: 4, scales: 4 },
    ]);
  });

  it('stops between scales when the signal aborts', async () => {
    const ctl = new AbortController();
    let seen = 0;
    const run = model.generate({
      labels: [0],
      signal: ctl.signal,
      onProgress: () => (++seen === 2 ? ctl.abort() : undefined),
    });
    await expect(run).rejects.toThrow(AbortedError);
    expect(seen).toBe(2);
    const aborted = new AbortController();
    aborted.abort();
    await expect(model.generate({ labels: [0], signal: aborted.signal })).rejects.toThrow(AbortedError);
  });

  it('rejects labels outside 0..num_classes, naming the range', async () => {
    for (const bad of [[11], [-1], [1.5], []]) {
      await expect(model.generate({ labels: bad })).rejects.toThrow(UsageError);
    }
    await expect(model.generate({ labels: [3, 11] })).rejects.toThrow(
      /labels\[1\] = 11 .* 0\.\.10 \(10 = unconditional\)/,
    );
    await expect(model.forward([12, 0], await ref('tf.x_BLCv_wo_first_l'))).rejects.toThrow(/0\.\.10/);
  });

  it('rejects bad sampling options and a wrongly shaped teacher-forcing input', async () => {
    await expect(model.generate({ labels: [0], topK: -1 })).rejects.toThrow(/topK/);
    await expect(model.generate({ labels: [0], topP: 1.5 })).rejects.toThrow(/topP/);
    await expect(model.generate({ labels: [0], cfg: Number.NaN })).rejects.toThrow(/cfg/);
    await expect(model.generate({ labels: [0], cfg: -1 })).rejects.toThrow(
      /cfg must be a finite number of at least 0, got -1/,
    );
    await expect(model.forward([0, 1], new Tensor([2, 30, 8]))).rejects.toThrow(InputError);
  });
});

describe("loadVAR takes bytes, a ByteSource or a loaded state dict as well as a path (the browser's entry too)", () => {
  const greedy = { labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 };
  const bytesOf = (f: string) => new Uint8Array(readFileSync(fixture(f)));
  const sourceOf = (f: string) => {
    const bytes = bytesOf(f);
    return {
      name: f,
      size: bytes.length,
      read: async (position: number, length: number) => bytes.slice(position, position + length),
    };
  };

  it.each([
    ['bytes', () => ({ var: bytesOf('var.safetensors'), vae: bytesOf('vae.pth') })],
    ['a ByteSource', () => ({ var: sourceOf('var.pth'), vae: sourceOf('vae.safetensors') })],
  ] as const)('from %s: the reference tokens under greedy sampling', async (_, inputs) => {
    const m = await loadVAR({ ...inputs(), patchNums: TINY_PATCH_NUMS, registry });
    try {
      const out = await m.generate(greedy);
      for (let si = 0; si < 4; si++)
        expect(Array.from(out.tokens[si])).toEqual(Array.from(await refIndices(`ar.cfg1p5.idx.s${si}`)));
    } finally {
      await m.dispose();
    }
  });

  it('from loaded state dicts, and bytes still have their index checked before their data', async () => {
    const m = await loadVAR({
      var: await loadStateDict(fixture('var.safetensors')),
      vae: await loadStateDict(fixture('vae.safetensors')),
      registry,
    });
    expect(m.config.patchNums).toEqual([1, 2, 3, 4]);
    await m.dispose();
    await expect(
      loadVAR({ var: bytesOf('vae.safetensors'), vae: bytesOf('var.safetensors'), registry }),
    ).rejects.toThrow(/VAR checkpoint: .*not a VAR transformer checkpoint/);
  });

  it('refuses anything else with one line naming the accepted inputs', async () => {
    await expect(loadVAR({ var: 42 as never, vae: fixture('vae.safetensors'), registry })).rejects.toThrow(
      /loadVAR needs \{ var, vae \}: each a checkpoint path, its bytes \(Uint8Array\), a ByteSource or a loaded state dict; var is 42/,
    );
    await expect(loadVAR({ var: fixture('var.safetensors'), vae: { tensors: [] } as never, registry })).rejects.toThrow(
      UsageError,
    );
  });
});

describe('loadVAR errors', () => {
  it('fails at load time when no backend is available, listing the fix', async () => {
    const run = loadVAR({
      var: fixture('var.safetensors'),
      vae: fixture('vae.safetensors'),
      patchNums: TINY_PATCH_NUMS,
      registry: createRegistry(),
    });
    await expect(run).rejects.toThrow(BackendUnavailableError);
    await expect(
      loadVAR({
        var: fixture('var.safetensors'),
        vae: fixture('vae.safetensors'),
        patchNums: TINY_PATCH_NUMS,
        registry: createRegistry(),
      }),
    ).rejects.toThrow(/@nextscale\/backend-cpu/);
  });

  it('reads the tiny model schedule (L = 30) from its lvl_1L buffer when no patchNums are given', async () => {
    const model = await loadVAR({ var: fixture('var.safetensors'), vae: fixture('vae.safetensors'), registry });
    expect(model.config.patchNums).toEqual([1, 2, 3, 4]);
    expect(model.config.patchNumsSource).toBe('lvl_1L');
    await model.dispose();
  });

  it('refuses swapped files', async () => {
    await expect(
      loadVAR({
        var: fixture('vae.safetensors'),
        vae: fixture('var.safetensors'),
        patchNums: TINY_PATCH_NUMS,
        registry,
      }),
    ).rejects.toThrow(WeightsError);
  });

  it('refuses a VQ-VAE whose codebook does not fit the VAR', async () => {
    const varSd = await loadStateDict(fixture('var.safetensors'));
    const vaeSd = await loadStateDict(fixture('vae.safetensors'));
    const tensors = new Map(vaeSd.tensors);
    tensors.set('quantize.embedding.weight', new Tensor([32, 8]));
    tensors.set('quantize.ema_vocab_hit_SV', new Tensor([4, 32]));
    const run = VARModel.fromStateDicts(
      varSd,
      { tensors, path: 'small-codebook.safetensors' },
      { patchNums: TINY_PATCH_NUMS, registry },
    );
    await expect(run).rejects.toThrow(
      /small-codebook\.safetensors: does not fit VAR .*predicts 64 tokens .* 32 entries/,
    );
  });

  it('reads class names from metadata and checks their count', async () => {
    const varSd = await loadStateDict(fixture('var.safetensors'));
    const vaeSd = await loadStateDict(fixture('vae.safetensors'));
    const names = Array.from({ length: 10 }, (_, i) => `class ${i}`);
    const m = await VARModel.fromStateDicts({ ...varSd, metadata: { class_names: JSON.stringify(names) } }, vaeSd, {
      patchNums: TINY_PATCH_NUMS,
      registry,
    });
    expect(m.classNames).toEqual(names);
    await m.dispose();
    await expect(
      VARModel.fromStateDicts({ ...varSd, metadata: { class_names: '["a"]' } }, vaeSd, {
        patchNums: TINY_PATCH_NUMS,
        registry,
      }),
    ).rejects.toThrow(/class_names has 1 names but the model has 10 classes/);
  });

  it('dispose is idempotent and a disposed model refuses work', async () => {
    const m = await loadVAR({
      var: fixture('var.safetensors'),
      vae: fixture('vae.safetensors'),
      patchNums: TINY_PATCH_NUMS,
      registry,
    });
    await m.dispose();
    await m.dispose();
    await expect(m.generate({ labels: [0] })).rejects.toThrow(/disposed/);
  });
});

describe('loadVAR with both files wrong', () => {
  it("reports the VAR's problem, whichever read finishes first", async () => {
    // The two files swapped: both loads fail; the message must not depend on timing.
    for (let i = 0; i < 3; i++) {
      await expect(
        loadVAR({ var: fixture('vae.pth'), vae: fixture('var.pth'), patchNums: TINY_PATCH_NUMS }),
      ).rejects.toThrow(/not a VAR transformer checkpoint/);
    }
  });
});
