import { describe, expect, it } from 'vitest';
import { Slabs } from './slabs.js';

describe('Slabs', () => {
  it('carves consecutive arrays from one slab, starts a new one when the rest is too small, and never overlaps them', () => {
    const s = new Slabs(40); // 10 floats a slab
    const a = s.take(4);
    const b = s.take(6);
    const c = s.take(3); // 0 floats left: a new slab
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(16);
    expect(c.buffer).not.toBe(a.buffer);
    expect(a.buffer.byteLength).toBe(40);
    a.fill(1);
    b.fill(2);
    c.fill(3);
    expect(Array.from(a)).toEqual([1, 1, 1, 1]);
    expect(Array.from(b)).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it('gives an array larger than a slab a slab of its own size', () => {
    const s = new Slabs(40);
    const big = s.take(25);
    expect(big.buffer.byteLength).toBe(100);
    expect(big.length).toBe(25);
  });
});
