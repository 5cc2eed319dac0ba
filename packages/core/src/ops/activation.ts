import { Tensor, asTensor, type TensorLike } from '../tensor.js';
import type { SyncKernel } from '../engines/dense-contract.js';

/** SiLU(x) = x·σ(x) = x / (1 + e^(−x)), elementwise (`kernel`: a dense engine's to hand the work to). */
export function silu(x: TensorLike, kernel?: SyncKernel<'silu'>): Tensor {
  const X = asTensor(x, 'silu: x');
  const y = new Tensor(X.shape);
  const xd = X.data;
  const yd = y.data;
  if (kernel) {
    kernel(xd, yd, xd.length);
    return y;
  }
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    yd[i] = v / (1 + Math.exp(-v));
  }
  return y;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU with the tanh approximation (`approximate='tanh'`): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), elementwise
 * (`kernel`: a dense engine's to hand the work to).
 */
export function geluTanh(x: TensorLike, kernel?: SyncKernel<'geluTanh'>): Tensor {
  const X = asTensor(x, 'geluTanh: x');
  const y = new Tensor(X.shape);
  const xd = X.data;
  const yd = y.data;
  if (kernel) {
    kernel(xd, yd, xd.length);
    return y;
  }
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    yd[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
  return y;
}
