import { Tensor, ShapeError, asTensor, type TensorLike } from '../tensor.js';
import { fmtShape, requireRank } from './check.js';
import type { SyncKernel } from '../engines/dense-contract.js';
import { gemmNT } from './gemm.js';

export interface Conv2dOptions {
  /** Same stride along H and W (default 1). */
  stride?: number;
  /** Zero padding: one number for all four sides, or [top, bottom, left, right] (default 0). */
  padding?: number | readonly [top: number, bottom: number, left: number, right: number];
}

/** Floats of the transposed im2col buffer built per chunk of output rows (4 MiB). */
const CHUNK_FLOATS = 1 << 20;

/**
 * `Conv2d` (cross-correlation, NCHW): x (B,Ci,H,W), weight (Co,Ci,kh,kw), bias (Co) or null →
 * y (B,Co,Ho,Wo) with y[b,o,i,j] = bias[o] + Σ_{c,u,v} W[o,c,u,v]·x_pad[b,c,i·s+u,j·s+v],
 * Ho = ⌊(H + top + bottom − kh)/s⌋ + 1 (likewise Wo).
 *
 * Implementation: for each chunk of output rows, the patches are gathered into a (positions × Ci·kh·kw) matrix and
 * the engine's A·Bᵀ product with A = weight (Co × Ci·kh·kw) writes the NCHW output directly.
 * VAR's Downsample2x is `conv2d(x, w, b, { stride: 2, padding: [0, 1, 0, 1] })`.
 * `kernel`: a dense engine's conv2d to hand the work to (engines/calls.ts passes the active engine's).
 */
export function conv2d(
  x: TensorLike,
  weight: TensorLike,
  bias: TensorLike | null,
  opts: Conv2dOptions = {},
  kernel?: SyncKernel<'conv2d'>,
): Tensor {
  const X = asTensor(x, 'conv2d: x');
  const Wt = asTensor(weight, 'conv2d: weight');
  requireRank('conv2d', 'x', X, 4, '(B,Ci,H,W)');
  requireRank('conv2d', 'weight', Wt, 4, '(Co,Ci,kh,kw)');
  const [B, Ci, H, W] = X.shape as [number, number, number, number];
  const [Co, Ciw, kh, kw] = Wt.shape as [number, number, number, number];
  if (Ci !== Ciw) {
    throw new ShapeError(
      `conv2d: x ${fmtShape(X.shape)} has ${Ci} channels but weight ${fmtShape(Wt.shape)} expects ${Ciw}`,
    );
  }
  if (kh < 1 || kw < 1) throw new ShapeError(`conv2d: empty kernel in weight ${fmtShape(Wt.shape)}`);
  let bd: Float32Array | null = null;
  if (bias !== null && bias !== undefined) {
    const Bt = asTensor(bias, 'conv2d: bias');
    if (Bt.shape.length !== 1 || Bt.shape[0] !== Co) {
      throw new ShapeError(`conv2d: bias must have shape [${Co}], got ${fmtShape(Bt.shape)}`);
    }
    bd = Bt.data;
  }
  const s = opts.stride ?? 1;
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`conv2d: stride must be a positive integer, got ${s}`);
  const pad = opts.padding ?? 0;
  if (typeof pad !== 'number' && !(Array.isArray(pad) && pad.length === 4)) {
    throw new RangeError(`conv2d: padding must be a number or [top, bottom, left, right], got ${JSON.stringify(pad)}`);
  }
  const [pt, pb, pl, pr] = typeof pad === 'number' ? [pad, pad, pad, pad] : [pad[0], pad[1], pad[2], pad[3]];
  for (const p of [pt, pb, pl, pr]) {
    if (!Number.isInteger(p) || p < 0) {
      throw new RangeError(`conv2d: padding must be non-negative integers, got ${JSON.stringify(pad)}`);
    }
  }
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  if (Hp < kh || Wp < kw) {
    throw new ShapeError(
      `conv2d: padded input ${Hp}×${Wp} (x ${fmtShape(X.shape)}, padding ${JSON.stringify(pad)}) is smaller than the ${kh}×${kw} kernel`,
    );
  }
  const Ho = Math.floor((Hp - kh) / s) + 1;
  const Wo = Math.floor((Wp - kw) / s) + 1;
  const y = new Tensor([B, Co, Ho, Wo]);
  const P = Ho * Wo;
  const K = Ci * kh * kw;
  if (B === 0 || Co === 0 || P === 0) return y;
  const yd = y.data;
  if (K === 0) {
    if (bd) addBias(yd, bd, B, Co, P);
    return y;
  }
  if (kernel) {
    // the dense engine's own convolution, which takes symmetric padding only: an asymmetric one (Downsample2x's) is
    // written into a zero-padded copy of the input first
    const symmetric = pt === pb && pl === pr;
    kernel({
      x: symmetric ? X.data : zeroPadded(X.data, B, Ci, H, W, pt, pb, pl, pr),
      batch: B,
      inChannels: Ci,
      height: symmetric ? H : Hp,
      width: symmetric ? W : Wp,
      weight: Wt.data,
      outChannels: Co,
      kernelH: kh,
      kernelW: kw,
      bias: bd,
      strideH: s,
      strideW: s,
      padH: symmetric ? pt : 0,
      padW: symmetric ? pl : 0,
      y: yd,
      outH: Ho,
      outW: Wo,
    });
    return y;
  }
  const rowsPerChunk = Math.max(1, Math.min(Ho, Math.floor(CHUNK_FLOATS / (K * Wo))));
  const cols = new Float32Array(rowsPerChunk * Wo * K);
  for (let b = 0; b < B; b++) {
    const xOff = b * Ci * H * W;
    const yOff = b * Co * P;
    for (let oy0 = 0; oy0 < Ho; oy0 += rowsPerChunk) {
      const oy1 = Math.min(Ho, oy0 + rowsPerChunk);
      im2colT(X.data, xOff, Ci, H, W, kh, kw, s, pt, pl, Wo, oy0, oy1, cols);
      gemmNT(Co, (oy1 - oy0) * Wo, K, Wt.data, 0, K, cols, 0, K, yd, yOff + oy0 * Wo, P);
    }
  }
  if (bd) addBias(yd, bd, B, Co, P);
  return y;
}

/** x (B, C, H, W) with pt/pb rows and pl/pr columns of zeros around each map: (B, C, H + pt + pb, W + pl + pr). */
function zeroPadded(
  x: Float32Array,
  B: number,
  C: number,
  H: number,
  W: number,
  pt: number,
  pb: number,
  pl: number,
  pr: number,
): Float32Array {
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  const out = new Float32Array(B * C * Hp * Wp);
  for (let m = 0; m < B * C; m++) {
    for (let i = 0; i < H; i++) out.set(x.subarray((m * H + i) * W, (m * H + i + 1) * W), (m * Hp + pt + i) * Wp + pl);
  }
  return out;
}

/**
 * Gathers the patches of output rows [oy0, oy1) into `cols`, one row of Ci·kh·kw values (order c, u, v, matching the
 * weight layout) per output position, with zeros where the patch falls into the padding.
 */
function im2colT(
  x: Float32Array,
  xOff: number,
  Ci: number,
  H: number,
  W: number,
  kh: number,
  kw: number,
  s: number,
  pt: number,
  pl: number,
  Wo: number,
  oy0: number,
  oy1: number,
  cols: Float32Array,
): void {
  const HW = H * W;
  let q = 0;
  for (let oy = oy0; oy < oy1; oy++) {
    const iy0 = oy * s - pt;
    const rowsInside = iy0 >= 0 && iy0 + kh <= H;
    for (let ox = 0; ox < Wo; ox++) {
      const ix0 = ox * s - pl;
      if (rowsInside && ix0 >= 0 && ix0 + kw <= W) {
        for (let c = 0; c < Ci; c++) {
          let src = xOff + c * HW + iy0 * W + ix0;
          for (let u = 0; u < kh; u++, src += W) {
            for (let v = 0; v < kw; v++) cols[q++] = x[src + v];
          }
        }
      } else {
        for (let c = 0; c < Ci; c++) {
          const plane = xOff + c * HW;
          for (let u = 0; u < kh; u++) {
            const iy = iy0 + u;
            if (iy < 0 || iy >= H) {
              for (let v = 0; v < kw; v++) cols[q++] = 0;
              continue;
            }
            const row = plane + iy * W;
            for (let v = 0; v < kw; v++) {
              const ix = ix0 + v;
              cols[q++] = ix >= 0 && ix < W ? x[row + ix] : 0;
            }
          }
        }
      }
    }
  }
}

function addBias(yd: Float32Array, bd: Float32Array, B: number, Co: number, P: number): void {
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < Co; o++) {
      const v = bd[o];
      const base = (b * Co + o) * P;
      for (let p = 0; p < P; p++) yd[base + p] += v;
    }
  }
}
