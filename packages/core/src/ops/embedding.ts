import { Tensor, asTensor, type TensorLike } from '../tensor.js';
import { requireRank } from './check.js';

/** `Embedding`: rows of weight (n,d) picked by `indices` → (indices.length, d). Each index must be an integer in [0, n). */
export function embedding(weight: TensorLike, indices: ArrayLike<number>): Tensor {
  const Wt = asTensor(weight, 'embedding: weight');
  requireRank('embedding', 'weight', Wt, 2, '(n,d)');
  const [n, d] = Wt.shape as [number, number];
  const L = indices.length;
  const y = new Tensor([L, d]);
  const wd = Wt.data;
  const yd = y.data;
  for (let i = 0; i < L; i++) {
    const idx = indices[i];
    if (!Number.isInteger(idx) || idx < 0 || idx >= n) {
      throw new RangeError(`embedding: index ${idx} at position ${i} is out of range for a table of ${n} rows`);
    }
    yd.set(wd.subarray(idx * d, idx * d + d), i * d);
  }
  return y;
}
