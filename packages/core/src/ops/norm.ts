import { Tensor, ShapeError, asTensor, type TensorLike } from '../tensor.js';
import type { SyncKernel } from '../engines/dense-contract.js';
import { fmtShape, lastDim, requirePositiveInt, requireRank } from './check.js';

/**
 * `LayerNorm` without affine over the last dim: (x − μ)/√(σ² + eps), σ² the biased variance.
 * The statistics are computed in float64 (two passes). `kernel`: a dense engine's row kernel to hand the work to.
 */
export function layerNorm(x: TensorLike, eps: number, kernel?: SyncKernel<'layerNormRows'>): Tensor {
  const X = asTensor(x, 'layerNorm: x');
  const n = lastDim('layerNorm', 'x', X);
  const y = new Tensor(X.shape);
  if (n === 0) return y;
  const xd = X.data;
  const yd = y.data;
  if (kernel) {
    kernel(xd, yd, xd.length / n, n, eps);
    return y;
  }
  for (let o = 0; o < xd.length; o += n) {
    const [mean, inv] = meanAndInvStd(xd, o, n, eps);
    for (let i = 0; i < n; i++) yd[o + i] = (xd[o + i] - mean) * inv;
  }
  return y;
}

/**
 * `GroupNorm(numGroups, C, eps, affine)` on x (B,C,H,W): channels split into numGroups contiguous groups; mean and
 * biased variance over each group's (C/numGroups)·H·W values (float64), then ·weight[c] + bias[c]. `kernel`: a dense
 * engine's groupNorm to hand the work to.
 */
export function groupNorm(
  x: TensorLike,
  numGroups: number,
  weight: TensorLike,
  bias: TensorLike,
  eps: number,
  kernel?: SyncKernel<'groupNorm'>,
): Tensor {
  const X = asTensor(x, 'groupNorm: x');
  const Wt = asTensor(weight, 'groupNorm: weight');
  const Bt = asTensor(bias, 'groupNorm: bias');
  requireRank('groupNorm', 'x', X, 4, '(B,C,H,W)');
  requirePositiveInt('groupNorm', 'numGroups', numGroups);
  const [B, C, H, W] = X.shape as [number, number, number, number];
  if (C % numGroups !== 0) {
    throw new ShapeError(`groupNorm: ${C} channels (x ${fmtShape(X.shape)}) do not split into ${numGroups} groups`);
  }
  if (Wt.shape.length !== 1 || Wt.shape[0] !== C) {
    throw new ShapeError(`groupNorm: weight must have shape [${C}], got ${fmtShape(Wt.shape)}`);
  }
  if (Bt.shape.length !== 1 || Bt.shape[0] !== C) {
    throw new ShapeError(`groupNorm: bias must have shape [${C}], got ${fmtShape(Bt.shape)}`);
  }
  const y = new Tensor(X.shape);
  const HW = H * W;
  const cg = C / numGroups;
  const n = cg * HW;
  if (n === 0) return y;
  const xd = X.data;
  const yd = y.data;
  const wd = Wt.data;
  const bd = Bt.data;
  if (kernel) {
    kernel(xd, yd, B, C, HW, numGroups, wd, bd, eps);
    return y;
  }
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < numGroups; g++) {
      const o = (b * C + g * cg) * HW;
      const [mean, inv] = meanAndInvStd(xd, o, n, eps);
      for (let cc = 0; cc < cg; cc++) {
        const c = g * cg + cc;
        const scale = inv * wd[c];
        const shift = bd[c];
        const base = o + cc * HW;
        for (let i = 0; i < HW; i++) yd[base + i] = (xd[base + i] - mean) * scale + shift;
      }
    }
  }
  return y;
}

/** `F.normalize` along the last dim: x / max(‖x‖₂, eps), the norm accumulated in float64. */
export function l2Normalize(x: TensorLike, eps = 1e-12): Tensor {
  const X = asTensor(x, 'l2Normalize: x');
  const n = lastDim('l2Normalize', 'x', X);
  const y = new Tensor(X.shape);
  if (n === 0) return y;
  const xd = X.data;
  const yd = y.data;
  for (let o = 0; o < xd.length; o += n) {
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const v = xd[o + i];
      sq += v * v;
    }
    const inv = 1 / Math.max(Math.sqrt(sq), eps);
    for (let i = 0; i < n; i++) yd[o + i] = xd[o + i] * inv;
  }
  return y;
}

/** Mean and 1/√(σ² + eps) of x[o, o+n), σ² the biased variance, in float64 (two passes). */
function meanAndInvStd(x: Float32Array, o: number, n: number, eps: number): [number, number] {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[o + i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = x[o + i] - mean;
    sq += d * d;
  }
  return [mean, 1 / Math.sqrt(sq / n + eps)];
}
