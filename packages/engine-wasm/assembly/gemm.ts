// C = A·Bᵀ in WebAssembly SIMD (AssemblyScript). All memory is laid out by the JavaScript side: the module allocates
// nothing, so every instance sharing one memory (the worker pool) sees the same buffers and no allocator state.
//
// Layout (byte addresses, float32 row-major):
//   A (m × k, row stride lda floats)    read in place, MR rows at a time
//   B (n × k, row stride ldb floats)    packed once by packB into panels of NR rows, transposed so that for each p the
//                                       NR values B[j0..j0+NR, p] are contiguous (zero rows past n)
//   C (m × n, row stride ldc floats)    overwritten
//
// Every C element is a plain left-to-right float32 sum over p within each K block of KC values, blocks added in order,
// whatever tile, thread or edge path computes it: splitting work across threads changes nothing bitwise.

// Compile-time switch: the relaxed build fuses multiply and add (f32x4.relaxed_madd, an FMA where the CPU has one).
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;

/** Floats in one packed panel of NR rows of B over all k: NR·k. */
export function panelFloats(k: i32): i32 {
  return NR * k;
}

/**
 * Packs rows [j0, j1) of B (j0 a multiple of NR) into the panels at `dst` (panel q = j / NR at dst + q·NR·k floats).
 * Rows past n in the last panel are zero so the microkernel can always run full width.
 */
export function packB(n: i32, k: i32, b: usize, ldb: i32, dst: usize, j0: i32, j1: i32): void {
  for (let j = j0; j < j1; j += NR) {
    const panel = dst + (<usize>(j / NR) * <usize>(NR * k) << 2);
    const rows = min(NR, n - j);
    if (rows == NR) {
      // 8 source rows, 4 values of p at a time: two 4×4 transposes per step
      const r0 = b + (<usize>j * <usize>ldb << 2);
      const s = <usize>ldb << 2;
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const o = r0 + (<usize>p << 2);
        const x0 = v128.load(o);
        const x1 = v128.load(o + s);
        const x2 = v128.load(o + 2 * s);
        const x3 = v128.load(o + 3 * s);
        const y0 = v128.load(o + 4 * s);
        const y1 = v128.load(o + 5 * s);
        const y2 = v128.load(o + 6 * s);
        const y3 = v128.load(o + 7 * s);
        const d = panel + (<usize>(p * NR) << 2);
        transpose4(x0, x1, x2, x3, d, NR << 2);
        transpose4(y0, y1, y2, y3, d + 16, NR << 2);
      }
      for (; p < k; p++) {
        const d = panel + (<usize>(p * NR) << 2);
        const o = r0 + (<usize>p << 2);
        for (let r = 0; r < NR; r++) store<f32>(d + (<usize>r << 2), load<f32>(o + <usize>r * s));
      }
    } else {
      for (let p = 0; p < k; p++) {
        const d = panel + (<usize>(p * NR) << 2);
        for (let r = 0; r < NR; r++) {
          const v: f32 = r < rows ? load<f32>(b + ((<usize>(j + r) * <usize>ldb + <usize>p) << 2)) : 0;
          store<f32>(d + (<usize>r << 2), v);
        }
      }
    }
  }
}

/** Writes the transpose of the 4×4 block (rows x0..x3) as four 4-float groups at d, d + row, d + 2·row, d + 3·row. */
@inline function transpose4(x0: v128, x1: v128, x2: v128, x3: v128, d: usize, row: usize): void {
  const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5); // c0 d0 c1 d1
  const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7); // a2 b2 a3 b3
  const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7); // c2 d2 c3 d3
  v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(d + row, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * row, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * row, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/**
 * Packs rows [i0, i1) × columns [p0, p0 + kc) of A into groups of MR rows interleaved by p (for each p, the MR values
 * A[i..i+MR, p] are contiguous; rows past i1 are zero), so the microkernel streams A from one contiguous block instead
 * of MR rows a page apart (which thrashes cache sets and the TLB).
 */
function packA(a: usize, lda: i32, i0: i32, i1: i32, p0: i32, kc: i32, dst: usize): void {
  const ldaBytes = <usize>lda << 2;
  for (let i = i0; i < i1; i += MR) {
    const rows = min(MR, i1 - i);
    const r0 = a + <usize>i * ldaBytes + (<usize>p0 << 2);
    if (rows == MR) {
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = r0 + (<usize>p << 2);
        transpose4(v128.load(o), v128.load(o + ldaBytes), v128.load(o + 2 * ldaBytes), v128.load(o + 3 * ldaBytes), dst + (<usize>(p * MR) << 2), MR << 2);
      }
      for (; p < kc; p++) {
        const o = r0 + (<usize>p << 2);
        const d = dst + (<usize>(p * MR) << 2);
        for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), load<f32>(o + <usize>r * ldaBytes));
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const d = dst + (<usize>(p * MR) << 2);
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < rows ? load<f32>(r0 + <usize>r * ldaBytes + (<usize>p << 2)) : 0;
          store<f32>(d + (<usize>r << 2), v);
        }
      }
    }
    dst += <usize>(MR * kc) << 2;
  }
}

/**
 * The 4×8 register block: C[i..i+4, j..j+8] (+)= Σ_{p<kc} Apacked[p, 0..4]ᵀ · Bpanel[p, 0..8].
 * `acc` adds to C instead of overwriting. Only `rows` × `cols` of the block are stored (ragged edges).
 */
@inline function micro(
  kc: i32, pa: usize, pb: usize, c: usize, ldcBytes: usize, rows: i32, cols: i32, acc: bool, tmp: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const end = pa + (<usize>(kc * MR) << 2);
  while (pa < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let x = v128.load32_splat(pa);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(pa, 4);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(pa, 8);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(pa, 12);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    pa += MR << 2;
    pb += NR << 2;
  }
  if (rows == MR && cols == NR) {
    store2(c, c00, c01, acc);
    store2(c + ldcBytes, c10, c11, acc);
    store2(c + 2 * ldcBytes, c20, c21, acc);
    store2(c + 3 * ldcBytes, c30, c31, acc);
  } else {
    // ragged edge: spill the block, then copy the part inside C
    v128.store(tmp, c00); v128.store(tmp, c01, 16);
    v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
    v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
    v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
    for (let r = 0; r < rows; r++) {
      const cr = c + <usize>r * ldcBytes;
      const tr = tmp + (<usize>(r * NR) << 2);
      for (let q = 0; q < cols; q++) {
        const o = <usize>q << 2;
        const v = load<f32>(tr + o);
        store<f32>(cr + o, acc ? load<f32>(cr + o) + v : v);
      }
    }
  }
}

@inline function store2(c: usize, x: v128, y: v128, acc: bool): void {
  if (acc) {
    x = f32x4.add(v128.load(c), x);
    y = f32x4.add(v128.load(c, 16), y);
  }
  v128.store(c, x);
  v128.store(c, y, 16);
}

/** Bytes of per-thread scratch that `tile` needs: the packed A block plus the 4×8 spill block. */
export function tileScratchBytes(mc: i32, kcMax: i32): i32 {
  return (((mc + MR - 1) / MR) * MR * kcMax << 2) + (MR * NR << 2);
}

/**
 * One tile of C: rows [i0, i1) × columns [j0, j1) (j0 a multiple of NR), over all of K in blocks of kcMax, reading B
 * from the panels packed by packB. `scratch` (tileScratchBytes(i1 - i0, kcMax)) is private to the calling thread.
 */
export function tile(
  k: i32, a: usize, lda: i32, packed: usize, c: usize, ldc: i32,
  i0: i32, i1: i32, j0: i32, j1: i32, kcMax: i32, scratch: usize,
): void {
  const ldcBytes = <usize>ldc << 2;
  const panelBytes = <usize>(NR * k) << 2;
  const tmp = scratch + (<usize>(((i1 - i0 + MR - 1) / MR) * MR * kcMax) << 2);
  for (let p0 = 0; p0 < k; p0 += kcMax) {
    const kc = min(kcMax, k - p0);
    const acc = p0 > 0;
    packA(a, lda, i0, i1, p0, kc, scratch);
    for (let j = j0; j < j1; j += NR) {
      const cols = min(NR, j1 - j);
      const pb = packed + <usize>(j / NR) * panelBytes + (<usize>(p0 * NR) << 2);
      let pa = scratch;
      for (let i = i0; i < i1; i += MR) {
        micro(kc, pa, pb, c + <usize>i * ldcBytes + (<usize>j << 2), ldcBytes, min(MR, i1 - i), cols, acc, tmp);
        pa += <usize>(MR * kc) << 2;
      }
    }
  }
}

/**
 * The few-rows path (VAR's first scales have 1–16 tokens), where packing B would cost as much as the product: dot
 * products of rows of A with rows of B, both contiguous in p, four lanes of partial sums reduced at the end, then the
 * k % 4 tail. Computes columns [j0, j1) of all m rows; every element follows the same order whatever the split.
 */
export function dotRows(
  m: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, j0: i32, j1: i32,
): void {
  const k4 = k & ~3;
  const ldaBytes = <usize>lda << 2;
  const ldbBytes = <usize>ldb << 2;
  const ldcBytes = <usize>ldc << 2;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const x0 = a + <usize>i * ldaBytes;
    const x1 = x0 + ldaBytes;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const y0 = b + <usize>j * ldbBytes;
      const y1 = y0 + ldbBytes;
      const y2 = y1 + ldbBytes;
      const y3 = y2 + ldbBytes;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) {
        const o = <usize>p << 2;
        const u0 = v128.load(x0 + o);
        const u1 = v128.load(x1 + o);
        let v = v128.load(y0 + o);
        s00 = madd(u0, v, s00); s10 = madd(u1, v, s10);
        v = v128.load(y1 + o);
        s01 = madd(u0, v, s01); s11 = madd(u1, v, s11);
        v = v128.load(y2 + o);
        s02 = madd(u0, v, s02); s12 = madd(u1, v, s12);
        v = v128.load(y3 + o);
        s03 = madd(u0, v, s03); s13 = madd(u1, v, s13);
      }
      const c0 = c + <usize>i * ldcBytes + (<usize>j << 2);
      store4(c0, k4, k, x0, y0, ldbBytes, s00, s01, s02, s03);
      store4(c0 + ldcBytes, k4, k, x1, y0, ldbBytes, s10, s11, s12, s13);
    }
    for (; j < j1; j++) {
      const y0 = b + <usize>j * ldbBytes;
      const c0 = c + <usize>i * ldcBytes + (<usize>j << 2);
      store<f32>(c0, dot1(k4, k, x0, y0));
      store<f32>(c0 + ldcBytes, dot1(k4, k, x1, y0));
    }
  }
  for (; i < m; i++) {
    const x0 = a + <usize>i * ldaBytes;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const y0 = b + <usize>j * ldbBytes;
      const y1 = y0 + ldbBytes;
      const y2 = y1 + ldbBytes;
      const y3 = y2 + ldbBytes;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) {
        const o = <usize>p << 2;
        const u = v128.load(x0 + o);
        s0 = madd(u, v128.load(y0 + o), s0);
        s1 = madd(u, v128.load(y1 + o), s1);
        s2 = madd(u, v128.load(y2 + o), s2);
        s3 = madd(u, v128.load(y3 + o), s3);
      }
      store4(c + <usize>i * ldcBytes + (<usize>j << 2), k4, k, x0, y0, ldbBytes, s0, s1, s2, s3);
    }
    for (; j < j1; j++) {
      store<f32>(c + <usize>i * ldcBytes + (<usize>j << 2), dot1(k4, k, x0, b + <usize>j * ldbBytes));
    }
  }
}

/** Lane sum in a fixed order, then the scalar tail p ∈ [k4, k). */
@inline function finish(s: v128, k4: i32, k: i32, x: usize, y: usize): f32 {
  let t: f32 = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  for (let p = k4; p < k; p++) t += load<f32>(x + (<usize>p << 2)) * load<f32>(y + (<usize>p << 2));
  return t;
}

@inline function store4(c: usize, k4: i32, k: i32, x: usize, y0: usize, ldbBytes: usize, s0: v128, s1: v128, s2: v128, s3: v128): void {
  store<f32>(c, finish(s0, k4, k, x, y0));
  store<f32>(c, finish(s1, k4, k, x, y0 + ldbBytes), 4);
  store<f32>(c, finish(s2, k4, k, x, y0 + 2 * ldbBytes), 8);
  store<f32>(c, finish(s3, k4, k, x, y0 + 3 * ldbBytes), 12);
}

/** One column at a time, in the same order as the 4-wide path. */
@inline function dot1(k4: i32, k: i32, x: usize, y: usize): f32 {
  let s = f32x4.splat(0);
  for (let p = 0; p < k4; p += 4) {
    const o = <usize>p << 2;
    s = madd(v128.load(x + o), v128.load(y + o), s);
  }
  return finish(s, k4, k, x, y);
}
