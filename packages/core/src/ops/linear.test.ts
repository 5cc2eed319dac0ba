import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { ShapeError, Tensor } from '../tensor.js';
import { linear } from './linear.js';
import { expectClose, randTensor } from './ops.test-support.js';

/** y = x·Wᵀ + b over the flattened leading dims, float64. */
function naiveLinear(x: Tensor, w: Tensor, b: Tensor | null): Float64Array {
  const [O, I] = w.shape as [number, number];
  const rows = x.data.length / I;
  const y = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < O; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < I; i++) s += x.data[r * I + i] * w.data[o * I + i];
      y[r * O + o] = s;
    }
  return y;
}

describe('linear', () => {
  it('computes x·Wᵀ + b by hand', () => {
    const x = new Tensor([1, 2], Float32Array.of(1, 2));
    const w = new Tensor([3, 2], Float32Array.of(1, 0, 0, 1, 1, 1)); // out 0 = x0, out 1 = x1, out 2 = x0 + x1
    const b = new Tensor([3], Float32Array.of(10, 20, 30));
    expect([...linear(x, w, b).data]).toEqual([11, 22, 33]);
    expect([...linear(x, w).data]).toEqual([1, 2, 3]);
    expect([...linear(x, w, null).data]).toEqual([1, 2, 3]);
  });

  it('keeps leading dims: (B, L, in) → (B, L, out)', () => {
    const rng = new Rng(20);
    const x = randTensor(rng, [2, 3, 5]);
    const w = randTensor(rng, [7, 5]);
    const b = randTensor(rng, [7]);
    const y = linear(x, w, b);
    expect(y.shape).toEqual([2, 3, 7]);
    expectClose(y.data, naiveLinear(x, w, b), { atol: 1e-5, rtol: 1e-5 });
    expect(linear(randTensor(rng, [5]), w).shape).toEqual([7]);
  });

  it('matches a float64 reference on ragged sizes, with and without bias', () => {
    const rng = new Rng(21);
    for (const [M, I, O] of [
      [1, 1, 1],
      [2, 64, 3],
      [5, 33, 17],
      [19, 130, 42],
      [3, 1100, 9],
      [8, 8, 520],
    ] as const) {
      const x = randTensor(rng, [M, I]);
      const w = randTensor(rng, [O, I], 1 / Math.sqrt(I));
      const b = randTensor(rng, [O]);
      expectClose(linear(x, w, b).data, naiveLinear(x, w, b), { atol: 2e-6, rtol: 1e-5 }, `${M}×${I}→${O}`);
      expectClose(linear(x, w).data, naiveLinear(x, w, null), { atol: 2e-6, rtol: 1e-5 }, `${M}×${I}→${O} no bias`);
    }
  });

  it('accepts plain { shape, data } objects', () => {
    const y = linear(
      { shape: [2], data: Float32Array.of(1, -1) },
      { shape: [1, 2], data: Float32Array.of(3, 4) },
      { shape: [1], data: Float32Array.of(1) },
    );
    expect([...y.data]).toEqual([0]);
  });

  it('throws ShapeError on mismatched shapes', () => {
    expect(() => linear(new Tensor([2, 4]), new Tensor([3, 5]))).toThrow(ShapeError);
    expect(() => linear(new Tensor([2, 4]), new Tensor([3, 5]))).toThrow(/last dim 4/);
    expect(() => linear(new Tensor([2, 4]), new Tensor([12]))).toThrow(ShapeError);
    expect(() => linear(new Tensor([2, 4]), new Tensor([3, 4]), new Tensor([4]))).toThrow(/bias must have shape \[3\]/);
    expect(() => linear(new Tensor([]), new Tensor([3, 1]))).toThrow(ShapeError);
  });
});
