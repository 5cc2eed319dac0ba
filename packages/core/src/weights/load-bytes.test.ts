import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { fixture } from './fixture-paths.test-support.js';
import { loadStateDict, loadStateDictFromBytes } from './load.js';

describe('loadStateDictFromBytes (weights already in memory, as in a browser)', () => {
  for (const name of ['var.safetensors', 'var.pth', 'vae.pth']) {
    it(`gives exactly what loadStateDict gives for ${name}`, async () => {
      const fromFile = await loadStateDict(fixture(name));
      const fromBytes = await loadStateDictFromBytes(new Uint8Array(readFileSync(fixture(name))), name);
      expect(fromBytes.format).toBe(fromFile.format);
      expect(fromBytes.path).toBe(name);
      expect([...fromBytes.tensors.keys()]).toEqual([...fromFile.tensors.keys()]);
      for (const [key, t] of fromFile.tensors) {
        const b = fromBytes.tensors.get(key)!;
        expect(b.shape, key).toEqual(t.shape);
        expect(
          Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          ),
          key,
        ).toBe(true);
      }
    });
  }

  it('reports truncated bytes under the given name', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('var.safetensors'))).subarray(0, 5000);
    const err = await loadStateDictFromBytes(bytes, 'fetched/var.safetensors').catch((e) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect(err.message).toMatch(/^fetched\/var\.safetensors: truncated/);
  });
});
