import { Tensor, asTensor, type TensorLike } from '../tensor.js';
import { requireSameShape } from './check.js';

/** a + b for two tensors of the same shape (no broadcasting). */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const A = asTensor(a, 'add: a');
  const B = asTensor(b, 'add: b');
  requireSameShape('add', A, B);
  const y = new Tensor(A.shape);
  const ad = A.data;
  const bd = B.data;
  const yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = ad[i] + bd[i];
  return y;
}

/** a += b (same shape); returns a. */
export function addInPlace(a: Tensor, b: TensorLike): Tensor {
  const A = asTensor(a, 'addInPlace: a'); // validates; shares a.data
  const B = asTensor(b, 'addInPlace: b');
  requireSameShape('addInPlace', A, B);
  const ad = A.data;
  const bd = B.data;
  for (let i = 0; i < ad.length; i++) ad[i] += bd[i];
  return a;
}

/** a *= s; returns a. */
export function scaleInPlace(a: Tensor, s: number): Tensor {
  const ad = asTensor(a, 'scaleInPlace: a').data;
  for (let i = 0; i < ad.length; i++) ad[i] *= s;
  return a;
}

/** min(max(x, lo), hi) elementwise; NaN stays NaN (like `torch.clamp`). Requires lo ≤ hi. */
export function clamp(x: TensorLike, lo: number, hi: number): Tensor {
  const X = asTensor(x, 'clamp: x');
  if (!(lo <= hi)) throw new RangeError(`clamp: needs lo ≤ hi, got lo=${lo}, hi=${hi}`);
  const y = new Tensor(X.shape);
  const xd = X.data;
  const yd = y.data;
  for (let i = 0; i < xd.length; i++) {
    const v = xd[i];
    yd[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return y;
}
