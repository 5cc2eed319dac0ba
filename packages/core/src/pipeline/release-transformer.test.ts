/**
 * generate({ releaseTransformer: true }), a model's last generation: after the last scale and before the decode the
 * active dense engine is told to forget every transformer weight (DenseEngine.forget), the images are those of a
 * plain generation, and the model then refuses to run its transformer again with a one-line UsageError.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { setDenseEngine } from '../engines/active.js';
import { UsageError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { randomModelOfAnotherShape } from './test-support.js';

const model = await randomModelOfAnotherShape();

// an engine with no kernels of its own (core's TypeScript runs everything) that records what it is told to forget
const events: string[] = [];
const forgotten: (readonly Float32Array[])[] = [];
setDenseEngine({
  id: 'recording',
  name: 'recording',
  forget(weights) {
    forgotten.push(weights);
    events.push('forget');
  },
});
afterAll(async () => {
  setDenseEngine(null);
  await model.dispose();
});

const options = { labels: [1, 4], cfg: 2, topK: 10, topP: 0.9, seed: 7 };

describe('generate({ releaseTransformer: true })', () => {
  it('checks the option', async () => {
    await expect(model.generate({ ...options, releaseTransformer: 'yes' as unknown as boolean })).rejects.toThrow(
      /releaseTransformer must be a boolean, got yes/,
    );
    expect(forgotten).toEqual([]);
  });

  it('forgets every transformer weight before the decode, gives the plain images, then refuses to generate', async () => {
    const plain = await model.generate(options);
    expect(forgotten, 'a plain generation forgets nothing').toEqual([]);

    const last = await model.generate({
      ...options,
      releaseTransformer: true,
      onProgress: (e) => {
        if (e.stage === 'decode') events.push('decode');
      },
    });
    expect(events).toEqual(['forget', 'decode']);
    expect(last.tokens).toEqual(plain.tokens);
    expect(last.images.data).toEqual(plain.images.data);

    const told = new Set(forgotten[0]);
    const w = model.transformer.weights;
    for (const t of [w.wordEmbedWeight, w.classEmb, w.headWeight, w.headBias, w.sharedAdaLinWeight!])
      expect(told.has(t.data)).toBe(true);
    for (const b of w.blocks)
      for (const t of [
        b.qkvWeight,
        b.qkvBias,
        b.projWeight,
        b.projBias,
        b.fc1Weight,
        b.fc1Bias,
        b.fc2Weight,
        b.fc2Bias,
      ])
        expect(told.has(t.data)).toBe(true);

    for (const run of [
      () => model.generate(options),
      () => model.forward([1], new Tensor([1, model.config.tokenCount - 1, model.config.cvae])),
    ]) {
      const err = await run().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/transformer was released by generate\(\{ releaseTransformer: true \}\)/);
    }
    expect(forgotten).toHaveLength(1);
    // the VQ-VAE is not the transformer's: it still decodes
    expect((await model.vae.decode(last.tokens)).shape).toEqual(last.images.shape);
  });
});
