import { Tensor, ShapeError, asTensor, type TensorLike } from '../tensor.js';
import { fmtShape, requirePositiveInt, requireRank } from './check.js';

/** `Upsample2x`'s nearest ×2 on x (B,C,H,W): out[i,j] = in[⌊i/2⌋, ⌊j/2⌋] → (B,C,2H,2W). */
export function upsampleNearest2x(x: TensorLike): Tensor {
  const X = asTensor(x, 'upsampleNearest2x: x');
  requireRank('upsampleNearest2x', 'x', X, 4, '(B,C,H,W)');
  const [B, C, H, W] = X.shape as [number, number, number, number];
  const W2 = 2 * W;
  const y = new Tensor([B, C, 2 * H, W2]);
  const xd = X.data;
  const yd = y.data;
  for (let pl = 0; pl < B * C; pl++) {
    const xo = pl * H * W;
    const yo = pl * 4 * H * W;
    for (let i = 0; i < H; i++) {
      const r0 = yo + 2 * i * W2;
      const src = xo + i * W;
      for (let j = 0; j < W; j++) {
        const v = xd[src + j];
        yd[r0 + 2 * j] = v;
        yd[r0 + 2 * j + 1] = v;
      }
      yd.copyWithin(r0 + W2, r0, r0 + W2);
    }
  }
  return y;
}

/**
 * `F.interpolate(mode='area')` (= adaptive average pooling) of x (B,C,H,W) to (B,C,outH,outW). Per axis, n → o,
 * out[i] = mean(in[⌊i·n/o⌋ … ⌈(i+1)·n/o⌉ − 1]); windows may overlap and differ in size. Sums in float64.
 */
export function interpolateArea(x: TensorLike, outH: number, outW: number): Tensor {
  const X = asTensor(x, 'interpolateArea: x');
  requireRank('interpolateArea', 'x', X, 4, '(B,C,H,W)');
  requirePositiveInt('interpolateArea', 'outH', outH);
  requirePositiveInt('interpolateArea', 'outW', outW);
  const [, , H, W] = X.shape as [number, number, number, number];
  return separable(X, areaTaps(H, outH), areaTaps(W, outW), 'interpolateArea');
}

/**
 * `F.interpolate(size=…, mode='bicubic', align_corners=False)` of x (B,C,H,W) to (B,C,outH,outW). Per axis, n → o:
 * src = (dst + 0.5)·(n/o) − 0.5 (unclamped; scale and src in float32 like PyTorch's CPU kernel), x0 = ⌊src⌋,
 * t = src − x0, taps x0−1 … x0+2 clamped to [0, n−1], Keys' weights with A = −0.75. No clamping of values
 * (they may overshoot). A 1×1 input gives a constant map. Accumulation in float64.
 */
export function interpolateBicubic(x: TensorLike, outH: number, outW: number): Tensor {
  const X = asTensor(x, 'interpolateBicubic: x');
  requireRank('interpolateBicubic', 'x', X, 4, '(B,C,H,W)');
  requirePositiveInt('interpolateBicubic', 'outH', outH);
  requirePositiveInt('interpolateBicubic', 'outW', outW);
  const [, , H, W] = X.shape as [number, number, number, number];
  return separable(X, bicubicTaps(H, outH), bicubicTaps(W, outW), 'interpolateBicubic');
}

/** A 1-D linear resampling n → out, in CSR form: output o reads idx[ptr[o] … ptr[o+1]) with weights w. */
interface Taps {
  readonly n: number;
  readonly out: number;
  readonly ptr: Int32Array;
  readonly idx: Int32Array;
  readonly w: Float64Array;
}

function areaTaps(n: number, out: number): Taps {
  const ptr = new Int32Array(out + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let o = 0; o < out; o++) {
    const start = Math.floor((o * n) / out);
    const end = Math.floor(((o + 1) * n + out - 1) / out); // ⌈(o+1)·n/out⌉, exclusive
    const inv = 1 / (end - start);
    for (let i = start; i < end; i++) {
      idx.push(i);
      w.push(inv);
    }
    ptr[o + 1] = idx.length;
  }
  return { n, out, ptr, idx: Int32Array.from(idx), w: Float64Array.from(w) };
}

const A = -0.75;
const cubic1 = (x: number): number => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| ≤ 1
const cubic2 = (x: number): number => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2

function bicubicTaps(n: number, out: number): Taps {
  const ptr = new Int32Array(out + 1);
  const idx = new Int32Array(4 * out);
  const w = new Float64Array(4 * out);
  const f = Math.fround;
  const scale = f(n / out);
  for (let o = 0; o < out; o++) {
    const src = f(f(scale * f(o + 0.5)) - 0.5);
    const x0 = Math.floor(src);
    const t = src - x0;
    const ws = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
    for (let k = 0; k < 4; k++) {
      idx[4 * o + k] = Math.min(Math.max(x0 - 1 + k, 0), n - 1);
      w[4 * o + k] = ws[k];
    }
    ptr[o + 1] = 4 * (o + 1);
  }
  return { n, out, ptr, idx, w };
}

/** Applies `tw` along W, then `th` along H, to every (b, c) plane; the intermediate is float64. */
function separable(X: Tensor, th: Taps, tw: Taps, op: string): Tensor {
  const [B, C, H, W] = X.shape as [number, number, number, number];
  if (H === 0 || W === 0)
    throw new ShapeError(`${op}: cannot resample an empty ${H}×${W} map (x ${fmtShape(X.shape)})`);
  const oh = th.out;
  const ow = tw.out;
  const y = new Tensor([B, C, oh, ow]);
  const xd = X.data;
  const yd = y.data;
  const tmp = new Float64Array(H * ow);
  for (let pl = 0; pl < B * C; pl++) {
    const xo = pl * H * W;
    // along W: tmp[r, j] = Σ w · x[r, idx]
    for (let r = 0; r < H; r++) {
      const row = xo + r * W;
      const to = r * ow;
      for (let j = 0; j < ow; j++) {
        let s = 0;
        for (let q = tw.ptr[j]; q < tw.ptr[j + 1]; q++) s += tw.w[q] * xd[row + tw.idx[q]]!;
        tmp[to + j] = s;
      }
    }
    // along H: y[i, j] = Σ w · tmp[idx, j]
    const yo = pl * oh * ow;
    for (let i = 0; i < oh; i++) {
      const q0 = th.ptr[i];
      const q1 = th.ptr[i + 1];
      const yr = yo + i * ow;
      for (let j = 0; j < ow; j++) {
        let s = 0;
        for (let q = q0; q < q1; q++) s += th.w[q] * tmp[th.idx[q] * ow + j];
        yd[yr + j] = s;
      }
    }
  }
  return y;
}
