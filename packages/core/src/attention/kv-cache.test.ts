import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { KVCache } from './kv-cache.js';

const opts = { batch: 2, heads: 3, headDim: 4, scale: 1 };
const scale = (n: number, from: number) =>
  new Tensor(
    [2, 3, n, 4],
    Float32Array.from({ length: 2 * 3 * n * 4 }, (_, i) => from + i),
  );

describe('KVCache', () => {
  it('with maxLength, all of it is reserved at once and later scales never reallocate', () => {
    const c = new KVCache({ ...opts, maxLength: 1 + 4 + 9 });
    c.append(scale(1, 0), scale(1, 0));
    const keys = c.keys;
    expect(c.capacity).toBe(14);
    expect(keys.length).toBe(2 * 3 * 14 * 4);
    c.append(scale(4, 100), scale(4, 100));
    c.append(scale(9, 1000), scale(9, 1000));
    expect(c.keys).toBe(keys);
    expect(c.length).toBe(14);
    // slice 1 (batch 0, head 1): its first key, then the second scale's first key for that slice, at stride 14 · 4
    expect(c.keys[c.stride]).toBe(4);
    expect(c.keys[c.stride + 4]).toBe(100 + 4 * 4);
  });

  it('without maxLength the capacity doubles (what it did before), values kept in order', () => {
    const c = new KVCache(opts, 2);
    c.append(scale(1, 0), scale(1, 0));
    c.append(scale(4, 100), scale(4, 100));
    expect(c.capacity).toBe(8);
    expect(Array.from(c.keys.subarray(0, 8))).toEqual([0, 1, 2, 3, 100, 101, 102, 103]);
  });
});
