import { describe, expect, it } from 'vitest';
import { BlockCache } from './block-cache.js';

/** (rows, tokens, width) values: row r, token t, channel c → 100·r + 10·t + c (+ offset). */
const steps = (rows: number, from: number, tokens: number, width: number, offset = 0) =>
  Float32Array.from({ length: rows * tokens * width }, (_, i) => {
    const r = Math.floor(i / (tokens * width));
    const t = from + (Math.floor(i / width) % tokens);
    return 100 * r + 10 * t + (i % width) + offset;
  });

describe('BlockCache', () => {
  it('appends each step after the cached tokens; one row is a view, several rows are gathered', () => {
    const kv = new BlockCache(3, 2, 5);
    kv.write(0, 3, 2, steps(3, 0, 2, 2), steps(3, 0, 2, 2, 0.5));
    kv.tokens += 2;
    // the next step arrives in two calls (rows 0–1, then row 2), each reading the prefix first
    expect(Array.from(kv.past('key', 0, 2))).toEqual(Array.from(steps(2, 0, 2, 2)));
    kv.write(0, 2, 3, steps(2, 2, 3, 2), steps(2, 2, 3, 2, 0.5));
    const one = kv.past('value', 2, 3);
    expect(Array.from(one)).toEqual(Array.from(steps(3, 0, 2, 2, 0.5)).slice(8));
    kv.write(2, 3, 3, steps(3, 2, 3, 2).subarray(12), steps(3, 2, 3, 2, 0.5).subarray(12));
    kv.tokens += 3;
    expect(Array.from(kv.past('key', 0, 3))).toEqual(Array.from(steps(3, 0, 5, 2)));
    expect(Array.from(kv.past('value', 1, 3))).toEqual(Array.from(steps(3, 0, 5, 2, 0.5)).slice(10));
    const view = kv.past('key', 1, 2);
    expect(view.length).toBe(10);
    expect(view.buffer.byteLength).toBe(5 * 2 * 4); // the row's own buffer, no copy
  });

  it('grows, keeping what it holds, when a step needs more room than reserved', () => {
    const kv = new BlockCache(2, 2, 1);
    kv.write(0, 2, 1, steps(2, 0, 1, 2), steps(2, 0, 1, 2, 0.5));
    kv.tokens += 1;
    kv.reserve(4);
    kv.write(0, 2, 3, steps(2, 1, 3, 2), steps(2, 1, 3, 2, 0.5));
    kv.tokens += 3;
    expect(Array.from(kv.past('key', 0, 2))).toEqual(Array.from(steps(2, 0, 4, 2)));
    expect(kv.bytes).toBe(2 * 2 * 4 * 2 * 4);
  });
});
