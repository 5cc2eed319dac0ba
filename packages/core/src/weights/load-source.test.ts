import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { fixture } from './fixture-paths.test-support.js';
import type { ByteSource } from './io.js';
import { loadStateDict, loadStateDictFromSource, openWeightsSource } from './load.js';

/** A source over bytes in memory that records every range asked for (as a browser File read with File.slice). */
function recordingSource(bytes: Uint8Array, name: string): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    name,
    size: bytes.length,
    reads,
    async read(position, length) {
      reads.push([position, length]);
      return bytes.slice(position, position + length);
    },
  };
}

describe('loadStateDictFromSource (a random-access source such as a browser File)', () => {
  for (const name of ['var.safetensors', 'var.pth', 'vae.pth']) {
    it(`gives exactly what loadStateDict gives for ${name}, reading it in pieces`, async () => {
      const bytes = new Uint8Array(readFileSync(fixture(name)));
      const source = recordingSource(bytes, name);
      const fromFile = await loadStateDict(fixture(name));
      const fromSource = await loadStateDictFromSource(source);
      expect(fromSource.path).toBe(name);
      expect([...fromSource.tensors.keys()]).toEqual([...fromFile.tensors.keys()]);
      for (const [key, t] of fromFile.tensors)
        expect(Array.from(fromSource.tensors.get(key)!.data), key).toEqual(Array.from(t.data));
      // No read covers the whole file: the largest is one tensor's bytes (or the header).
      expect(Math.max(...source.reads.map(([, n]) => n))).toBeLessThan(bytes.length / 2);
    });
  }

  it('opens the index without reading tensor data', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('var.safetensors')));
    const source = recordingSource(bytes, 'var.safetensors');
    const reader = await openWeightsSource(source);
    expect(reader.tensors.length).toBeGreaterThan(10);
    await reader.close();
    const read = source.reads.reduce((n, [, len]) => n + len, 0);
    expect(read).toBeLessThan(bytes.length / 4);
  });

  it('reports a truncated source under its name', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('var.safetensors'))).subarray(0, 5000);
    const err = await loadStateDictFromSource(recordingSource(bytes, 'picked/var.safetensors')).catch((e) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect(err.message).toMatch(/^picked\/var\.safetensors: truncated/);
  });

  it('refuses a source that is not a weights file, naming it', async () => {
    const err = await loadStateDictFromSource(
      recordingSource(new TextEncoder().encode('hello, this is a text file'), 'notes.txt'),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect(err.message).toMatch(/^notes\.txt: not a weights file/);
  });
});
