import { Tensor, ShapeError, asTensor, type TensorLike } from '../tensor.js';
import { fmtShape, requireRank } from './check.js';
import { gemmNT } from './gemm.js';

/** (M,K)·(K,N) → (M,N). The right operand is transposed once per call, then the engine's A·Bᵀ product runs. */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const A = asTensor(a, 'matmul: a');
  const B = asTensor(b, 'matmul: b');
  requireRank('matmul', 'a', A, 2, '(M,K)');
  requireRank('matmul', 'b', B, 2, '(K,N)');
  const [M, K] = A.shape as [number, number];
  const [K2, N] = B.shape as [number, number];
  if (K !== K2) throw new ShapeError(`matmul: inner dimensions differ: a ${fmtShape(A.shape)}, b ${fmtShape(B.shape)}`);
  const out = new Tensor([M, N]);
  if (M === 0 || N === 0) return out;
  const bt = transpose2d(B.data, K, N);
  gemmNT(M, N, K, A.data, 0, K, bt, 0, K, out.data, 0, N);
  return out;
}

/** The (cols × rows) transpose of a row-major (rows × cols) matrix, in 32×32 tiles. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(rows * cols);
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const so = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[so + c];
      }
    }
  }
  return dst;
}
