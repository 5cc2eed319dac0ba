import { Tensor, asTensor, type TensorLike } from '../tensor.js';
import { lastDim } from './check.js';
import type { SyncKernel } from '../engines/dense-contract.js';

/**
 * Softmax over the last dim: exp(x − max) / Σ exp(x − max), the sum in float64.
 *
 * −Infinity entries (masked logits) get probability exactly 0; a row with at least one finite entry and no NaN/+Inf
 * gives a NaN-free result that sums to 1. Like `torch.softmax`, a row whose entries are all −Infinity gives NaN, and
 * NaN or +Infinity in a row gives NaN in that row: such rows are the caller's bug and are not silently hidden.
 * `kernel`: a dense engine's row kernel to hand the work to.
 */
export function softmax(x: TensorLike, kernel?: SyncKernel<'softmaxRows'>): Tensor {
  const X = asTensor(x, 'softmax: x');
  const n = lastDim('softmax', 'x', X);
  const y = new Tensor(X.shape);
  if (n === 0) return y;
  const xd = X.data;
  const yd = y.data;
  if (kernel) {
    kernel(xd, yd, xd.length / n, n);
    return y;
  }
  const e = new Float64Array(n);
  for (let o = 0; o < xd.length; o += n) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = xd[o + i];
      if (v > max) max = v; // a NaN entry makes its own term, hence the sum and the whole row, NaN
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += e[i] = Math.exp(xd[o + i] - max); // −Inf − finite max → exp(−Inf) = 0
    for (let i = 0; i < n; i++) yd[o + i] = e[i] / sum;
  }
  return y;
}
