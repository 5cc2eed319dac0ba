import { Tensor, ShapeError, asTensor, type TensorLike } from '../tensor.js';
import { fmtShape, lastDim, requireRank } from './check.js';
import type { SyncKernel } from '../engines/dense-contract.js';
import { gemmNT } from './gemm.js';

/**
 * `Linear`: x (…, in) and weight (out, in) give y (…, out) = x·Wᵀ + b. Both operands are read along contiguous rows
 * (the engine's A·Bᵀ product), so nothing is transposed. `linear(q, k)` is also the plain q·kᵀ of two row-major matrices.
 * `kernel`: a dense engine's linear to hand the work to (engines/calls.ts passes the active engine's).
 */
export function linear(
  x: TensorLike,
  weight: TensorLike,
  bias?: TensorLike | null,
  kernel?: SyncKernel<'linear'>,
): Tensor {
  const X = asTensor(x, 'linear: x');
  const Wt = asTensor(weight, 'linear: weight');
  requireRank('linear', 'weight', Wt, 2, '(out,in)');
  const [out, inF] = Wt.shape as [number, number];
  const xin = lastDim('linear', 'x', X);
  if (xin !== inF) {
    throw new ShapeError(
      `linear: x ${fmtShape(X.shape)} has last dim ${xin} but weight ${fmtShape(Wt.shape)} expects ${inF}`,
    );
  }
  let bd: Float32Array | null = null;
  if (bias !== undefined && bias !== null) {
    const Bt = asTensor(bias, 'linear: bias');
    if (Bt.shape.length !== 1 || Bt.shape[0] !== out) {
      throw new ShapeError(`linear: bias must have shape [${out}], got ${fmtShape(Bt.shape)}`);
    }
    bd = Bt.data;
  }
  const rows = inF === 0 ? sizeWithoutLast(X.shape) : X.data.length / inF;
  const y = new Tensor([...X.shape.slice(0, -1), out]);
  if (rows === 0 || out === 0) return y;
  const yd = y.data;
  if (kernel && inF > 0) {
    // the dense engine's own linear (it may keep the weight pinned natively); it adds the bias itself
    kernel(X.data, rows, inF, Wt.data, out, bd, yd);
    return y;
  }
  gemmNT(rows, out, inF, X.data, 0, inF, Wt.data, 0, inF, yd, 0, out);
  if (bd) {
    for (let r = 0; r < rows; r++) {
      const o = r * out;
      for (let j = 0; j < out; j++) yd[o + j] += bd[j];
    }
  }
  return y;
}

function sizeWithoutLast(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length - 1; i++) n *= shape[i];
  return n;
}
