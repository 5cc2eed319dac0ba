import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import {
  type SafetensorsEntry,
  convertToSafetensors,
  loadStateDict,
  openSafetensors,
  writeSafetensors,
} from './index.js';
import { fixture } from './fixture-paths.test-support.js';
import { useTempDir } from './tmpdir.test-support.js';

const tmp = useTempDir();
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('writeSafetensors', () => {
  it('round-trips F32, F16, I64, I32 (plus BF16/F64/U8) with lazy and async data, and hashes what it wrote', async () => {
    const path = tmp('rt.safetensors');
    async function* entries(): AsyncIterable<SafetensorsEntry> {
      yield { name: 'a', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2.5, 3, Infinity, -Infinity, 0]) };
      yield { name: 'h', dtype: 'F16', shape: [4], data: async () => Float32Array.from([1, 0.1, 65504, 1e-7]) };
      yield { name: 'l', dtype: 'I64', shape: [1, 3], data: () => [0, -1, 2 ** 40] };
      yield { name: 'i', dtype: 'I32', shape: [2], data: Int32Array.from([7, -8]) };
      yield { name: 'b', dtype: 'BF16', shape: [2], data: [1.5, -3] };
      yield { name: 'd', dtype: 'F64', shape: [1], data: [0.1] };
      yield { name: 'u', dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) };
      yield { name: 'z', dtype: 'F32', shape: [0], data: new Float32Array(0) };
    }
    const res = await writeSafetensors(path, entries(), { format: 'pt', note: 'héllo' });
    expect(res.sha256).toBe(sha(path));
    expect(res.bytes).toBe(readFileSync(path).length);
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    expect(bytes.subarray(8, 8 + n).toString('utf8')).toMatch(/^\{"__metadata__":.*\} *$/);

    const f = await openSafetensors(path);
    expect(f.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect(f.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['a', 'F32', [2, 3]],
      ['h', 'F16', [4]],
      ['l', 'I64', [1, 3]],
      ['i', 'I32', [2]],
      ['b', 'BF16', [2]],
      ['d', 'F64', [1]],
      ['u', 'U8', [3]],
      ['z', 'F32', [0]],
    ]);
    expect(Array.from(await f.read('a'))).toEqual([1, -2.5, 3, Infinity, -Infinity, 0]);
    expect(Array.from(await f.read('h'))).toEqual([1, 0.0999755859375, 65504, 1.1920928955078125e-7]);
    expect(Array.from(await f.read('l'))).toEqual([0, -1, 2 ** 40]);
    const lraw = await f.readBytes('l');
    expect(new BigInt64Array(lraw.buffer, lraw.byteOffset, 3)[2]).toBe(2n ** 40n);
    expect(Array.from(await f.read('i'))).toEqual([7, -8]);
    expect(Array.from(await f.read('b'))).toEqual([1.5, -3]);
    expect((await f.read('d'))[0]).toBe(Math.fround(0.1));
    expect(Array.from(await f.read('u'))).toEqual([0, 128, 255]);
    expect((await f.read('z')).length).toBe(0);
    await f.close();
  });

  it('rewrites var.safetensors byte-identically from raw bytes (same header layout as the reference writer)', async () => {
    const src = await openSafetensors(fixture('var.safetensors'));
    const out = tmp('var-copy.safetensors');
    const res = await writeSafetensors(
      out,
      src.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => src.readBytes(t.name) })),
      src.metadata,
    );
    await src.close();
    expect(res.sha256).toBe(sha(fixture('var.safetensors')));
  });

  it('converts var.pth to safetensors that loads to the same tensors', async () => {
    const out = tmp('var-from-pth.safetensors');
    const res = await convertToSafetensors(fixture('var.pth'), out);
    expect(res.sha256).toBe(sha(out));
    const a = await loadStateDict(out);
    const b = await loadStateDict(fixture('var.safetensors'));
    expect([...a.dtypes]).toEqual([...b.dtypes]);
    for (const [k, t] of b.tensors)
      expect(Buffer.from(a.tensors.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    // var.pth → safetensors with the fixture's metadata is the fixture, byte for byte.
    const again = await convertToSafetensors(fixture('var.pth'), tmp('var-again.safetensors'), b.metadata);
    expect(again.sha256).toBe(sha(fixture('var.safetensors')));
  });

  it('leaves nothing behind (and the old file intact) when producing data fails', async () => {
    const path = tmp('keep.safetensors');
    writeFileSync(path, 'old contents');
    const failing = writeSafetensors(path, [
      { name: 'a', dtype: 'F32', shape: [1], data: [1] },
      {
        name: 'b',
        dtype: 'F32',
        shape: [1],
        data: async () => {
          throw new Error('disk on fire');
        },
      },
    ]);
    await expect(failing).rejects.toThrow(/disk on fire/);
    await expect(failing).rejects.toBeInstanceOf(WeightsError);
    expect(readFileSync(path, 'utf8')).toBe('old contents');
    expect(readdirSync(dirname(path)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('rejects bad entries with a WeightsError naming the tensor', async () => {
    const path = tmp('bad.safetensors');
    await expect(writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [2, 2], data: [1, 2, 3] }])).rejects.toThrow(
      /tensor 'a': data has 3 elements but shape \[2, 2\] needs 4/,
    );
    await expect(writeSafetensors(path, [{ name: 'i', dtype: 'I64', shape: [1], data: [0.5] }])).rejects.toThrow(
      /not an integer/,
    );
    await expect(
      writeSafetensors(path, [
        { name: 'a', dtype: 'F32', shape: [1], data: [1] },
        { name: 'a', dtype: 'F32', shape: [1], data: [1] },
      ]),
    ).rejects.toThrow(/duplicate tensor name 'a'/);
    await expect(
      writeSafetensors(path, [{ name: 'r', dtype: 'F32', shape: [2], data: new Uint8Array(4) }]),
    ).rejects.toThrow(/4 raw bytes given but F32 \[2\] needs 8/);
    expect(existsSync(path)).toBe(false);
  });
});
