// Elementwise and row-wise kernels, single-threaded, in place of the hot TypeScript loops of ops/norm.ts,
// ops/softmax.ts and ops/activation.ts (which stay the reference). All arrays are float32, addresses are byte
// offsets, rows are contiguous (unaligned v128 loads are fine in WebAssembly).
//
// Precision, as in the TypeScript versions:
//  - layerNorm / groupNorm: mean and biased variance in float64 (two passes), (x − μ)·scale + shift in float64,
//    rounded once to float32;
//  - softmax: x − max in float64 (exact), exp in float64 (Cody–Waite reduction, degree-8 polynomial), the sum and
//    the normalisation in float64; −Infinity gives exactly 0, NaN/+Infinity/all −Infinity rows give NaN (as in TS);
//  - silu / geluTanh: float32 lanes; exp by Cody–Waite + Cephes' degree-7 polynomial (~1 ulp); GELU's
//    0.5·x·(1 + tanh z) is evaluated as x / (1 + e^(−2z)), the same function without the cancellation near −1.

import { expf4 } from '@nextscale/wasm-runtime/assembly/expf';

/** exp(d) for d ≤ 0 (or NaN), float64 lanes; below −200 exactly 0 (far under float32's range after ÷ Σ ≥ 1). */
@inline function expNeg64(d: v128): v128 {
  const lim = f64x2.splat(-200.0);
  const dd = f64x2.max(d, lim); // NaN stays NaN
  const n = f64x2.nearest(f64x2.mul(dd, f64x2.splat(1.4426950408889634)));
  let r = f64x2.sub(dd, f64x2.mul(n, f64x2.splat(6.93147180369123816490e-01)));
  r = f64x2.sub(r, f64x2.mul(n, f64x2.splat(1.90821492927058770002e-10)));
  // Taylor to degree 8: truncation under (ln2/2)⁹/9! ≈ 2e-10 relative, far below the float32 result's ½ ulp
  let p = f64x2.splat(2.48015873015873e-5); // 1/8!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.388888888888889e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.6666666666666666e-1));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  const ni = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(n));
  const pow2 = i64x2.shl(i64x2.add(ni, i64x2.splat(1023)), 52);
  return v128.bitselect(f64x2.splat(0), f64x2.mul(p, pow2), f64x2.lt(d, lim));
}


@inline function hsum(x: v128): f64 {
  return f64x2.extract_lane(x, 0) + f64x2.extract_lane(x, 1);
}

@inline function hiHalf(x: v128): v128 {
  return v128.shuffle<f32>(x, x, 2, 3, 2, 3);
}

/** Σ x over n floats, in float64. */
function sum64(x: usize, n: i32): f64 {
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    a = f64x2.add(a, f64x2.promote_low_f32x4(v));
    b = f64x2.add(b, f64x2.promote_low_f32x4(hiHalf(v)));
  }
  let s = hsum(f64x2.add(a, b));
  for (; i < n; i++) s += <f64>load<f32>(x + (<usize>i << 2));
  return s;
}

/** Σ (x − mean)² over n floats, in float64. */
function sqDev64(x: usize, n: i32, mean: f64): f64 {
  const m = f64x2.splat(mean);
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), m);
    const d1 = f64x2.sub(f64x2.promote_low_f32x4(hiHalf(v)), m);
    a = f64x2.add(a, f64x2.mul(d0, d0));
    b = f64x2.add(b, f64x2.mul(d1, d1));
  }
  let s = hsum(f64x2.add(a, b));
  for (; i < n; i++) {
    const d = <f64>load<f32>(x + (<usize>i << 2)) - mean;
    s += d * d;
  }
  return s;
}

/** out = (x − mean)·scale + shift over n floats, in float64, rounded to float32. */
function affine64(x: usize, out: usize, n: i32, mean: f64, scale: f64, shift: f64): void {
  const m = f64x2.splat(mean);
  const s = f64x2.splat(scale);
  const b = f64x2.splat(shift);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), m), s), b));
    const hi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(hiHalf(v)), m), s), b));
    v128.store(out + (<usize>i << 2), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  }
  for (; i < n; i++) {
    store<f32>(out + (<usize>i << 2), <f32>((<f64>load<f32>(x + (<usize>i << 2)) - mean) * scale + shift));
  }
}

/** LayerNorm without affine over rows of `cols` floats: (x − μ)/√(σ² + eps). */
export function layerNormRows(x: usize, out: usize, rows: i32, cols: i32, eps: f64): void {
  const rb = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const mean = sum64(xr, cols) / <f64>cols;
    const inv = 1.0 / Math.sqrt(sqDev64(xr, cols, mean) / <f64>cols + eps);
    affine64(xr, out + <usize>r * rb, cols, mean, inv, 0.0);
  }
}

/** GroupNorm on (B, C, HW) with `groups` contiguous channel groups, then ·weight[c] + bias[c] (C floats each). */
export function groupNorm(x: usize, out: usize, B: i32, C: i32, HW: i32, groups: i32, weight: usize, bias: usize, eps: f64): void {
  const cg = C / groups;
  const n = cg * HW;
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < groups; g++) {
      const o = <usize>((b * C + g * cg) * HW) << 2;
      const mean = sum64(x + o, n) / <f64>n;
      const inv = 1.0 / Math.sqrt(sqDev64(x + o, n, mean) / <f64>n + eps);
      for (let cc = 0; cc < cg; cc++) {
        const c = g * cg + cc;
        const base = o + (<usize>(cc * HW) << 2);
        const w = <f64>load<f32>(weight + (<usize>c << 2));
        const sh = <f64>load<f32>(bias + (<usize>c << 2));
        affine64(x + base, out + base, HW, mean, inv * w, sh);
      }
    }
  }
}

/** Softmax over rows of `cols` floats; scratch: cols float64 (the exponentials). */
export function softmaxRows(x: usize, out: usize, rows: i32, cols: i32, scratch: usize): void {
  const rb = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const or = out + <usize>r * rb;
    // max (NaN-propagating: a NaN entry makes the row NaN, as its term does in the TypeScript version)
    let mv = f32x4.splat(-Infinity);
    let i = 0;
    for (; i + 4 <= cols; i += 4) mv = f32x4.max(mv, v128.load(xr + (<usize>i << 2)));
    let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; i < cols; i++) m = max(m, load<f32>(xr + (<usize>i << 2)));
    const m2 = f64x2.splat(<f64>m);
    let a = f64x2.splat(0);
    let b = f64x2.splat(0);
    i = 0;
    for (; i + 4 <= cols; i += 4) {
      const v = v128.load(xr + (<usize>i << 2));
      const e0 = expNeg64(f64x2.sub(f64x2.promote_low_f32x4(v), m2));
      const e1 = expNeg64(f64x2.sub(f64x2.promote_low_f32x4(hiHalf(v)), m2));
      v128.store(scratch + (<usize>i << 3), e0);
      v128.store(scratch + (<usize>i << 3), e1, 16);
      a = f64x2.add(a, e0);
      b = f64x2.add(b, e1);
    }
    let s = hsum(f64x2.add(a, b));
    for (; i < cols; i++) {
      const e = f64x2.extract_lane(expNeg64(f64x2.splat(<f64>load<f32>(xr + (<usize>i << 2)) - <f64>m)), 0);
      store<f64>(scratch + (<usize>i << 3), e);
      s += e;
    }
    const inv = 1.0 / s; // a float64 reciprocal: its rounding is far below the float32 result's
    const sv = f64x2.splat(inv);
    i = 0;
    for (; i + 4 <= cols; i += 4) {
      const lo = f32x4.demote_f64x2_zero(f64x2.mul(v128.load(scratch + (<usize>i << 3)), sv));
      const hi = f32x4.demote_f64x2_zero(f64x2.mul(v128.load(scratch + (<usize>i << 3), 16), sv));
      v128.store(or + (<usize>i << 2), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
    }
    for (; i < cols; i++) store<f32>(or + (<usize>i << 2), <f32>(load<f64>(scratch + (<usize>i << 3)) * inv));
  }
}

// @ts-ignore: decorator
@inline const GELU_A: f32 = -1.5957691216057308; // −2·√(2/π)
// @ts-ignore: decorator
@inline const GELU_B: f32 = -0.07135481627159988; // −2·√(2/π)·0.044715

@inline function silu4(v: v128): v128 {
  return f32x4.div(v, f32x4.add(f32x4.splat(1), expf4(f32x4.neg(v))));
}

@inline function gelu4(v: v128): v128 {
  const u = f32x4.mul(v, f32x4.add(f32x4.splat(GELU_A), f32x4.mul(f32x4.splat(GELU_B), f32x4.mul(v, v))));
  return f32x4.div(v, f32x4.add(f32x4.splat(1), expf4(u)));
}

/** out = x·σ(x) over n floats. */
export function siluN(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), silu4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(silu4(f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
}

/** out = GELU(x) with the tanh approximation over n floats. */
export function geluTanhN(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), gelu4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(gelu4(f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
}

/** out = exp(x) over n floats, float32 lanes (the kernel silu/geluTanh use; exported for the accuracy test). */
export function expN(x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), expf4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), f32x4.extract_lane(expf4(f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
}

/** out = exp(x) over n floats for x ≤ 0, through the float64 kernel softmax uses (for the accuracy test). */
export function expNeg64N(x: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const e = f64x2.extract_lane(expNeg64(f64x2.splat(<f64>load<f32>(x + (<usize>i << 2)))), 0);
    store<f32>(out + (<usize>i << 2), <f32>e);
  }
}
