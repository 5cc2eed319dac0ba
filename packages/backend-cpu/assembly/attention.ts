// Exact attention for a block of query rows, flash-style: the keys are visited in blocks of KB with an online softmax
// (running max and normaliser per row, earlier partial sums rescaled when the max grows), so nothing of size
// rows × keys is ever held. Memory: the inputs plus a per-thread scratch of a few tens of KB.
//
// Precision, where it matters for an exact backend:
//  - logits in float64: the float32 inputs are promoted, so every product q·k is exact and only the float64 sum
//    rounds (large logits would otherwise carry float32 errors of ~1e-5 into the softmax weights);
//  - the running max, the normaliser and the output accumulator in float64;
//  - the weights p = exp(s − max) ∈ (0, 1] in float32 (a 1–2 ulp polynomial), and Σ_j p·v over one key block of at
//    most KB keys in float32 lanes, which is then added to the float64 accumulator.
//
// Layout: rows of q, k, v and out are float32 with a row stride of d8 floats (d rounded up to a multiple of 8, the
// padding zero), so the vector loops need no column edge.

import { expf4 } from '@nextscale/wasm-runtime/assembly/expf';

// @ts-ignore: decorator
@inline const QB: i32 = 16; // query rows per group (a multiple of 4)
// @ts-ignore: decorator
@inline const KB: i32 = 64; // keys per block

/** Bytes of per-thread scratch `attendRows` needs for head dimension d8. */
export function attnScratchBytes(d8: i32): i32 {
  return QB * d8 * 8 // q64
    + KB * d8 * 8 // k64
    + QB * KB * 8 // s
    + QB * KB * 4 // p
    + QB * d8 * 4 // part
    + QB * d8 * 8 // acc
    + QB * 8 * 3; // max, sum, corr
}

/**
 * out[i] = Σ_{j<n} softmax_j(scale · q_i·k_j) v_j for `rows` query rows, over the first n keys.
 * q, out: rows × d8 floats; k, v: n × d8 floats; scratch: attnScratchBytes(d8) bytes, private to the caller.
 */
export function attendRows(q: usize, k: usize, v: usize, out: usize, rows: i32, n: i32, d8: i32, scale: f64, scratch: usize): void {
  const q64 = scratch;
  const k64 = q64 + (<usize>(QB * d8) << 3);
  const s = k64 + (<usize>(KB * d8) << 3);
  const p = s + (<usize>(QB * KB) << 3);
  const part = p + (<usize>(QB * KB) << 2);
  const acc = part + (<usize>(QB * d8) << 2);
  const mx = acc + (<usize>(QB * d8) << 3);
  const sum = mx + (<usize>QB << 3);
  const corr = sum + (<usize>QB << 3);
  const rowBytes = <usize>d8 << 2;
  for (let r0 = 0; r0 < rows; r0 += QB) {
    const qr = min(QB, rows - r0);
    promoteRows(q + <usize>r0 * rowBytes, q64, qr, QB, d8, scale);
    for (let r = 0; r < QB; r++) {
      store<f64>(mx + (<usize>r << 3), -Infinity);
      store<f64>(sum + (<usize>r << 3), 0);
    }
    memory.fill(acc, 0, <usize>(QB * d8) << 3);
    for (let j0 = 0; j0 < n; j0 += KB) {
      const kb = min(KB, n - j0);
      promoteRows(k + <usize>j0 * rowBytes, k64, kb, kb, d8, 1.0);
      logits(q64, k64, s, kb, d8);
      weights(s, p, mx, sum, corr, kb);
      weightedValues(p, v + <usize>j0 * rowBytes, part, kb, d8);
      accumulate(acc, part, corr, d8);
    }
    finish(acc, sum, out + <usize>r0 * rowBytes, qr, d8);
  }
}

/** dst (padTo × d8 float64) = scale · src rows (float32); rows past `rows` are zero. */
function promoteRows(src: usize, dst: usize, rows: i32, padTo: i32, d8: i32, scale: f64): void {
  const sc = f64x2.splat(scale);
  for (let r = 0; r < padTo; r++) {
    const o = dst + (<usize>(r * d8) << 3);
    if (r < rows) {
      const i = src + (<usize>(r * d8) << 2);
      for (let c = 0; c < d8; c += 4) {
        const x = v128.load(i + (<usize>c << 2));
        v128.store(o + (<usize>c << 3), f64x2.mul(f64x2.promote_low_f32x4(x), sc));
        v128.store(o + (<usize>c << 3), f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3)), sc), 16);
      }
    } else {
      memory.fill(o, 0, <usize>d8 << 3);
    }
  }
}

/** s (QB × KB float64) = q64 · k64ᵀ for kb keys: 2 rows × 4 keys at a time, float64 lanes along d. */
function logits(q64: usize, k64: usize, s: usize, kb: i32, d8: i32): void {
  const rb = <usize>d8 << 3;
  const kb4 = kb & ~3;
  for (let i = 0; i < QB; i += 2) {
    const x0 = q64 + <usize>i * rb;
    const x1 = x0 + rb;
    const s0 = s + (<usize>(i * KB) << 3);
    const s1 = s0 + (<usize>KB << 3);
    let j = 0;
    for (; j < kb4; j += 4) {
      const y0 = k64 + <usize>j * rb;
      const y1 = y0 + rb;
      const y2 = y1 + rb;
      const y3 = y2 + rb;
      let a00 = f64x2.splat(0), a01 = f64x2.splat(0), a02 = f64x2.splat(0), a03 = f64x2.splat(0);
      let a10 = f64x2.splat(0), a11 = f64x2.splat(0), a12 = f64x2.splat(0), a13 = f64x2.splat(0);
      for (let o: usize = 0; o < rb; o += 16) {
        const u0 = v128.load(x0 + o);
        const u1 = v128.load(x1 + o);
        let w = v128.load(y0 + o);
        a00 = f64x2.add(a00, f64x2.mul(u0, w)); a10 = f64x2.add(a10, f64x2.mul(u1, w));
        w = v128.load(y1 + o);
        a01 = f64x2.add(a01, f64x2.mul(u0, w)); a11 = f64x2.add(a11, f64x2.mul(u1, w));
        w = v128.load(y2 + o);
        a02 = f64x2.add(a02, f64x2.mul(u0, w)); a12 = f64x2.add(a12, f64x2.mul(u1, w));
        w = v128.load(y3 + o);
        a03 = f64x2.add(a03, f64x2.mul(u0, w)); a13 = f64x2.add(a13, f64x2.mul(u1, w));
      }
      const js = <usize>j << 3;
      store<f64>(s0 + js, hsum(a00)); store<f64>(s0 + js, hsum(a01), 8); store<f64>(s0 + js, hsum(a02), 16); store<f64>(s0 + js, hsum(a03), 24);
      store<f64>(s1 + js, hsum(a10)); store<f64>(s1 + js, hsum(a11), 8); store<f64>(s1 + js, hsum(a12), 16); store<f64>(s1 + js, hsum(a13), 24);
    }
    for (; j < kb; j++) {
      const y0 = k64 + <usize>j * rb;
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
      for (let o: usize = 0; o < rb; o += 16) {
        const w = v128.load(y0 + o);
        a0 = f64x2.add(a0, f64x2.mul(v128.load(x0 + o), w));
        a1 = f64x2.add(a1, f64x2.mul(v128.load(x1 + o), w));
      }
      store<f64>(s0 + (<usize>j << 3), hsum(a0));
      store<f64>(s1 + (<usize>j << 3), hsum(a1));
    }
  }
}

@inline function hsum(x: v128): f64 {
  return f64x2.extract_lane(x, 0) + f64x2.extract_lane(x, 1);
}

/**
 * Online-softmax step for one key block: per row, the new running max, the factor corr = exp(old max − new max) that
 * rescales what was accumulated so far, the weights p = exp(s − new max) (float32) and the updated normaliser.
 */
function weights(s: usize, p: usize, mx: usize, sum: usize, corr: usize, kb: i32): void {
  for (let r = 0; r < QB; r++) {
    const sr = s + (<usize>(r * KB) << 3);
    const pr = p + (<usize>(r * KB) << 2);
    let bm = -Infinity;
    for (let j = 0; j < kb; j++) bm = max(bm, load<f64>(sr + (<usize>j << 3)));
    const old = load<f64>(mx + (<usize>r << 3));
    const m = max(old, bm);
    const c = old == -Infinity ? 0.0 : Math.exp(old - m);
    const mv = f64x2.splat(m);
    let total = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= kb; j += 4) {
      const lo = f32x4.demote_f64x2_zero(f64x2.sub(v128.load(sr + (<usize>j << 3)), mv));
      const hi = f32x4.demote_f64x2_zero(f64x2.sub(v128.load(sr + (<usize>j << 3), 16), mv));
      const e = expf4(v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
      v128.store(pr + (<usize>j << 2), e);
      total = f64x2.add(total, f64x2.add(f64x2.promote_low_f32x4(e), f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 2, 3))));
    }
    let t = hsum(total);
    for (; j < kb; j++) {
      const x = <f32>(load<f64>(sr + (<usize>j << 3)) - m);
      const e = f32x4.extract_lane(expf4(f32x4.splat(x)), 0);
      store<f32>(pr + (<usize>j << 2), e);
      t += <f64>e;
    }
    // rows of the padded tail have s = 0: harmless, their results are never stored
    store<f64>(mx + (<usize>r << 3), m);
    store<f64>(corr + (<usize>r << 3), c);
    store<f64>(sum + (<usize>r << 3), load<f64>(sum + (<usize>r << 3)) * c + t);
  }
}


/** part (QB × d8 float32) = p · v over kb keys: 4 rows × 8 columns at a time, float32 lanes along d. */
function weightedValues(p: usize, v: usize, part: usize, kb: i32, d8: i32): void {
  const rb = <usize>d8 << 2;
  const pb = <usize>KB << 2;
  for (let i = 0; i < QB; i += 4) {
    const p0 = p + <usize>i * pb;
    for (let c = 0; c < d8; c += 8) {
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
      let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      let vj = v + (<usize>c << 2);
      let pj = p0;
      const end = p0 + (<usize>kb << 2);
      while (pj < end) {
        const v0 = v128.load(vj);
        const v1 = v128.load(vj, 16);
        let w = v128.load32_splat(pj);
        a00 = f32x4.add(a00, f32x4.mul(w, v0)); a01 = f32x4.add(a01, f32x4.mul(w, v1));
        w = v128.load32_splat(pj + pb);
        a10 = f32x4.add(a10, f32x4.mul(w, v0)); a11 = f32x4.add(a11, f32x4.mul(w, v1));
        w = v128.load32_splat(pj + 2 * pb);
        a20 = f32x4.add(a20, f32x4.mul(w, v0)); a21 = f32x4.add(a21, f32x4.mul(w, v1));
        w = v128.load32_splat(pj + 3 * pb);
        a30 = f32x4.add(a30, f32x4.mul(w, v0)); a31 = f32x4.add(a31, f32x4.mul(w, v1));
        vj += rb;
        pj += 4;
      }
      const o = part + <usize>i * rb + (<usize>c << 2);
      v128.store(o, a00); v128.store(o, a01, 16);
      v128.store(o + rb, a10); v128.store(o + rb, a11, 16);
      v128.store(o + 2 * rb, a20); v128.store(o + 2 * rb, a21, 16);
      v128.store(o + 3 * rb, a30); v128.store(o + 3 * rb, a31, 16);
    }
  }
}

/** acc = acc · corr + part, per row, in float64. */
function accumulate(acc: usize, part: usize, corr: usize, d8: i32): void {
  for (let r = 0; r < QB; r++) {
    const cv = f64x2.splat(load<f64>(corr + (<usize>r << 3)));
    const a = acc + (<usize>(r * d8) << 3);
    const pp = part + (<usize>(r * d8) << 2);
    for (let c = 0; c < d8; c += 4) {
      const x = v128.load(pp + (<usize>c << 2));
      const o = a + (<usize>c << 3);
      v128.store(o, f64x2.add(f64x2.mul(v128.load(o), cv), f64x2.promote_low_f32x4(x)));
      v128.store(o, f64x2.add(f64x2.mul(v128.load(o, 16), cv), f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3))), 16);
    }
  }
}

/** out rows = acc / sum, rounded to float32. */
function finish(acc: usize, sum: usize, out: usize, rows: i32, d8: i32): void {
  for (let r = 0; r < rows; r++) {
    const inv = f64x2.splat(1.0 / load<f64>(sum + (<usize>r << 3)));
    const a = acc + (<usize>(r * d8) << 3);
    const o = out + (<usize>(r * d8) << 2);
    for (let c = 0; c < d8; c += 4) {
      const lo = f32x4.demote_f64x2_zero(f64x2.mul(v128.load(a + (<usize>c << 3)), inv));
      const hi = f32x4.demote_f64x2_zero(f64x2.mul(v128.load(a + (<usize>c << 3), 16), inv));
      v128.store(o + (<usize>c << 2), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
    }
  }
}
