import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { ShapeError, Tensor } from '../tensor.js';
import { matmul, transpose2d } from './matmul.js';
import { expectClose, randTensor } from './ops.test-support.js';

function naiveMatmul(a: Tensor, b: Tensor): Float64Array {
  const [M, K] = a.shape as [number, number];
  const N = b.shape[1];
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += a.data[i * K + p] * b.data[p * N + j];
      out[i * N + j] = s;
    }
  return out;
}

describe('matmul', () => {
  it('multiplies a hand-checkable 2×3 by 3×2', () => {
    const a = new Tensor([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
    const b = new Tensor([3, 2], Float32Array.of(7, 8, 9, 10, 11, 12));
    const y = matmul(a, b);
    expect(y.shape).toEqual([2, 2]);
    expect([...y.data]).toEqual([58, 64, 139, 154]);
  });

  it('matches a float64 reference on ragged sizes', () => {
    const rng = new Rng(10);
    for (const [M, K, N] of [
      [1, 1, 1],
      [3, 5, 7],
      [13, 17, 9],
      [6, 600, 5],
      [37, 70, 66],
      [2, 1030, 3],
    ] as const) {
      const a = randTensor(rng, [M, K]);
      const b = randTensor(rng, [K, N]);
      expectClose(matmul(a, b).data, naiveMatmul(a, b), { atol: 1e-5 * Math.sqrt(K), rtol: 1e-5 }, `${M}×${K}×${N}`);
    }
  });

  it('accepts plain { shape, data } objects and handles empty sizes', () => {
    const y = matmul({ shape: [1, 2], data: Float32Array.of(2, 3) }, { shape: [2, 1], data: Float32Array.of(4, 5) });
    expect([...y.data]).toEqual([23]);
    expect(matmul(new Tensor([0, 3]), new Tensor([3, 4])).shape).toEqual([0, 4]);
    expect([...matmul(new Tensor([2, 0]), new Tensor([0, 2])).data]).toEqual([0, 0, 0, 0]);
  });

  it('throws ShapeError on mismatched or non-2-D operands', () => {
    expect(() => matmul(new Tensor([2, 3]), new Tensor([4, 2]))).toThrow(ShapeError);
    expect(() => matmul(new Tensor([2, 3]), new Tensor([4, 2]))).toThrow(/inner dimensions/);
    expect(() => matmul(new Tensor([2, 3, 1]), new Tensor([1, 2]))).toThrow(ShapeError);
    expect(() => matmul(new Tensor([3]), new Tensor([3, 2]))).toThrow(ShapeError);
  });

  it('transpose2d transposes ragged tiles', () => {
    const rng = new Rng(11);
    const [R, C] = [35, 70];
    const src = rng.normalArray(R * C);
    const t = transpose2d(src, R, C);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) expect(t[c * R + r]).toBe(src[r * C + c]);
  });
});
