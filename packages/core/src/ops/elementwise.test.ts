import { describe, expect, it } from 'vitest';
import { ShapeError, Tensor } from '../tensor.js';
import { add, addInPlace, clamp, scaleInPlace } from './elementwise.js';

const t = (shape: number[], ...v: number[]) => (v.length ? new Tensor(shape, Float32Array.from(v)) : new Tensor(shape));

describe('add / addInPlace / scaleInPlace', () => {
  it('add returns a new tensor and leaves the inputs alone', () => {
    const a = t([2, 2], 1, 2, 3, 4);
    const b = t([2, 2], 10, 20, 30, 40);
    const y = add(a, b);
    expect(y.shape).toEqual([2, 2]);
    expect([...y.data]).toEqual([11, 22, 33, 44]);
    expect([...a.data]).toEqual([1, 2, 3, 4]);
    expect(y.data).not.toBe(a.data);
    expect([...add({ shape: [1], data: Float32Array.of(1) }, { shape: [1], data: Float32Array.of(2) }).data]).toEqual([
      3,
    ]);
  });

  it('addInPlace and scaleInPlace modify and return their first argument', () => {
    const a = t([3], 1, 2, 3);
    expect(addInPlace(a, t([3], 1, 1, -3))).toBe(a);
    expect([...a.data]).toEqual([2, 3, 0]);
    expect(scaleInPlace(a, -0.5)).toBe(a);
    expect([...a.data]).toEqual([-1, -1.5, -0]);
    expect(addInPlace(a, a)).toBe(a); // aliasing is fine elementwise
    expect([...a.data]).toEqual([-2, -3, -0]);
  });

  it('throws ShapeError when shapes differ (even with equal sizes)', () => {
    expect(() => add(t([2, 3]), t([3, 2]))).toThrow(ShapeError);
    expect(() => add(t([2, 3]), t([6]))).toThrow(/\[2, 3\] and \[6\] differ/);
    expect(() => addInPlace(t([2]), t([3]))).toThrow(ShapeError);
  });
});

describe('clamp', () => {
  it('clamps to [lo, hi], keeps NaN, returns a new tensor', () => {
    const x = t([6], -2, -1, 0, 0.5, 1, 7);
    x.data[5] = NaN;
    const y = clamp(x, -1, 1);
    expect(y).not.toBe(x);
    expect([...y.data.subarray(0, 5)]).toEqual([-1, -1, 0, 0.5, 1]);
    expect(y.data[5]).toBeNaN();
    expect([...clamp(t([2], -Infinity, Infinity), -1, 1).data]).toEqual([-1, 1]);
  });

  it('rejects lo > hi', () => {
    expect(() => clamp(t([1]), 1, -1)).toThrow(RangeError);
  });
});
