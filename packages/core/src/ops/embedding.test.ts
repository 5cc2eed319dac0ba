import { describe, expect, it } from 'vitest';
import { ShapeError, Tensor } from '../tensor.js';
import { embedding } from './embedding.js';

const table = new Tensor([3, 2], Float32Array.of(0, 1, 10, 11, 20, 21));

describe('embedding', () => {
  it('picks rows in index order, repeats allowed', () => {
    const y = embedding(table, [2, 0, 2, 1]);
    expect(y.shape).toEqual([4, 2]);
    expect([...y.data]).toEqual([20, 21, 0, 1, 20, 21, 10, 11]);
    expect([...embedding(table, Int32Array.of(1)).data]).toEqual([10, 11]);
    expect(embedding(table, []).shape).toEqual([0, 2]);
  });

  it('copies (the result does not alias the table)', () => {
    const y = embedding(table, [0]);
    y.data[0] = 99;
    expect(table.data[0]).toBe(0);
  });

  it('rejects out-of-range and non-integer indices with a clear message', () => {
    expect(() => embedding(table, [0, 3])).toThrow(RangeError);
    expect(() => embedding(table, [0, 3])).toThrow(/index 3 at position 1 is out of range for a table of 3 rows/);
    expect(() => embedding(table, [-1])).toThrow(RangeError);
    expect(() => embedding(table, [1.5])).toThrow(RangeError);
    expect(() => embedding(table, [NaN])).toThrow(RangeError);
    expect(() => embedding(new Tensor([6]), [0])).toThrow(ShapeError);
  });
});
