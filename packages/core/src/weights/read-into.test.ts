// WeightsReader.readInto (a reused buffer) and assertUnchanged (a reader kept open): what models/var/adaln-weights.ts
// reads the AdaLN weights with at each generation.
import { readFileSync, utimesSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { openWeights, openWeightsBytes, writeSafetensors } from './index.js';
import { fixture } from './fixture-paths.test-support.js';
import { useTempDir } from './tmpdir.test-support.js';

const temp = useTempDir();

describe('WeightsReader.readInto', () => {
  it.each(['var.safetensors', 'var.pth'])(
    '%s: every tensor read into a reused, larger buffer equals read()',
    async (name) => {
      const r = await openWeights(fixture(name));
      try {
        const buffer = new Float32Array(Math.max(...r.tensors.map((t) => t.shape.reduce((a, b) => a * b, 1))) + 7);
        for (const t of r.tensors) {
          const n = t.shape.reduce((a, b) => a * b, 1);
          buffer.fill(Number.NaN);
          const view = buffer.subarray(3, 3 + n); // not at the buffer's start: a view's byte offset must be honoured
          await r.readInto(t.name, view);
          expect(Number.isNaN(buffer[2]), `${t.name}: wrote before the view`).toBe(true);
          expect(Number.isNaN(buffer[3 + n]), `${t.name}: wrote past the view`).toBe(true);
          expect(Array.from(view), t.name).toEqual(Array.from(await r.read(t.name)));
        }
      } finally {
        await r.close();
      }
    },
  );

  it('converts F16 and BF16 into float32 as read() does', async () => {
    const path = temp('halves.safetensors');
    const values = [0, 1, -2.5, 65504, 1e-3, -0];
    await writeSafetensors(path, [
      { name: 'h', dtype: 'F16', shape: [2, 3], data: values },
      { name: 'b', dtype: 'BF16', shape: [6], data: values },
    ]);
    const r = await openWeights(path);
    try {
      for (const name of ['h', 'b']) {
        const out = new Float32Array(6);
        await r.readInto(name, out);
        expect(Array.from(out)).toEqual(Array.from(await r.read(name)));
      }
    } finally {
      await r.close();
    }
  });

  it('refuses a buffer of the wrong size, naming the tensor and both sizes', async () => {
    const r = await openWeights(fixture('var.safetensors'));
    try {
      await expect(r.readInto('pos_start', new Float32Array(3))).rejects.toThrow(
        /readInto\('pos_start'\) needs a buffer of 64 floats, got 3/,
      );
    } finally {
      await r.close();
    }
  });

  it('refuses to read once the reader is closed', async () => {
    const r = await openWeights(fixture('var.safetensors'));
    await r.close();
    await expect(r.readInto('pos_start', new Float32Array(64))).rejects.toThrow(WeightsError);
  });
});

describe('WeightsReader.assertUnchanged', () => {
  it('passes while the file is as opened and refuses it once its modification time changed', async () => {
    const path = temp('var-copy.safetensors');
    const source = await openWeights(fixture('var.safetensors'));
    await writeSafetensors(
      path,
      await Promise.all(source.tensors.map(async (t) => ({ ...t, data: await source.readBytes(t.name) }))),
    );
    await source.close();
    const r = await openWeights(path);
    try {
      await r.assertUnchanged();
      utimesSync(path, new Date(), new Date(Date.now() + 5000));
      await expect(r.assertUnchanged()).rejects.toThrow(
        /changed on disk after the model was loaded.*load the model again/,
      );
    } finally {
      await r.close();
    }
  });

  it('never refuses bytes in memory', async () => {
    const r = await openWeightsBytes(new Uint8Array(readFileSync(fixture('var.safetensors'))));
    await r.assertUnchanged();
    await r.close();
  });
});
