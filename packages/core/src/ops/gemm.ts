/**
 * The GEMM behind matmul, linear and conv2d (the product is defined in engines/dense-contract.ts): `gemmNT` checks
 * its operands and runs the active engine's synchronous GEMM (engines/active.ts), or this file's TypeScript
 * reference when the engine has none.
 */
import { activeGemmNT } from '../engines/active.js';
import type { GemmEngine } from '../engines/dense-contract.js';

export type { GemmEngine, GemmNT } from '../engines/dense-contract.js';

/**
 * Blocking of the default engine. K is split into equal blocks of at most KC values, whose partial sums are added in C.
 * Within a K block, B is processed in panels of about PANEL_BYTES (a multiple of 4 rows), each reused by every 4-row
 * block of A, so that a panel stays in L2. Tuned roughly on one x86 machine; the results do not depend on them beyond
 * float32 rounding.
 */
const KC = 512;
const PANEL_BYTES = 256 * 1024;

/**
 * The default engine: plain TypeScript, 4×4 register blocks of dot products over contiguous rows. Partial sums live in
 * JS numbers (float64); they are rounded to float32 once per block of at most KC values of K.
 */
export const jsGemmEngine: GemmEngine = { name: 'js-4x4', gemmNT: jsGemmNT };

/** C = A·Bᵀ through the active engine's GEMM (see engines/dense-contract.ts for the layout). */
export function gemmNT(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  if (m === 0 || n === 0) return;
  checkOperand('A', m, k, a, aOff, lda);
  checkOperand('B', n, k, b, bOff, ldb);
  checkOperand('C', m, n, c, cOff, ldc);
  (activeGemmNT() ?? jsGemmNT)(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
}

/** O(1) bounds check of a rows × cols operand at `off` with row stride `ld` (so no engine reads past an array). */
function checkOperand(what: string, rows: number, cols: number, arr: Float32Array, off: number, ld: number): void {
  const ok =
    Number.isInteger(rows) &&
    Number.isInteger(cols) &&
    Number.isInteger(off) &&
    Number.isInteger(ld) &&
    rows >= 0 &&
    cols >= 0 &&
    off >= 0 &&
    ld >= cols &&
    (rows === 0 || off + (rows - 1) * ld + cols <= arr.length);
  if (!ok) {
    throw new RangeError(
      `gemmNT: ${what} (${rows}×${cols}, offset ${off}, leading dim ${ld}) does not fit its array of ${arr.length} floats`,
    );
  }
}

function jsGemmNT(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
    return;
  }
  // split K into equal blocks of at most KC
  const kBlock = Math.ceil(k / Math.ceil(k / KC));
  for (let p0 = 0; p0 < k; p0 += kBlock) {
    const kb = Math.min(kBlock, k - p0);
    const accumulate = p0 > 0;
    // panel height: a multiple of 4 rows of B, kb floats each, about PANEL_BYTES in all
    const nc = Math.max(4, Math.floor(PANEL_BYTES / (4 * kb)) & ~3);
    for (let j0 = 0; j0 < n; j0 += nc) {
      const nb = Math.min(nc, n - j0);
      panel(m, nb, kb, a, aOff + p0, lda, b, bOff + j0 * ldb + p0, ldb, c, cOff + j0, ldc, accumulate);
    }
  }
}

/** One panel: all rows of A against nb rows of B, over kb values of K. */
function panel(
  m: number,
  nb: number,
  kb: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = aOff + i * lda;
    const a1 = a0 + lda;
    const a2 = a1 + lda;
    const a3 = a2 + lda;
    let j = 0;
    for (; j + 4 <= nb; j += 4) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let p = 0; p < kb; p++) {
        const x0 = a[a0 + p];
        const x1 = a[a1 + p];
        const x2 = a[a2 + p];
        const x3 = a[a3 + p];
        let y = b[b0 + p];
        c00 += x0 * y;
        c10 += x1 * y;
        c20 += x2 * y;
        c30 += x3 * y;
        y = b[b1 + p];
        c01 += x0 * y;
        c11 += x1 * y;
        c21 += x2 * y;
        c31 += x3 * y;
        y = b[b2 + p];
        c02 += x0 * y;
        c12 += x1 * y;
        c22 += x2 * y;
        c32 += x3 * y;
        y = b[b3 + p];
        c03 += x0 * y;
        c13 += x1 * y;
        c23 += x2 * y;
        c33 += x3 * y;
      }
      let o = cOff + i * ldc + j;
      if (acc) {
        c[o] += c00;
        c[o + 1] += c01;
        c[o + 2] += c02;
        c[o + 3] += c03;
        o += ldc;
        c[o] += c10;
        c[o + 1] += c11;
        c[o + 2] += c12;
        c[o + 3] += c13;
        o += ldc;
        c[o] += c20;
        c[o + 1] += c21;
        c[o + 2] += c22;
        c[o + 3] += c23;
        o += ldc;
        c[o] += c30;
        c[o + 1] += c31;
        c[o + 2] += c32;
        c[o + 3] += c33;
      } else {
        c[o] = c00;
        c[o + 1] = c01;
        c[o + 2] = c02;
        c[o + 3] = c03;
        o += ldc;
        c[o] = c10;
        c[o + 1] = c11;
        c[o + 2] = c12;
        c[o + 3] = c13;
        o += ldc;
        c[o] = c20;
        c[o + 1] = c21;
        c[o + 2] = c22;
        c[o + 3] = c23;
        o += ldc;
        c[o] = c30;
        c[o + 1] = c31;
        c[o + 2] = c32;
        c[o + 3] = c33;
      }
    }
    // leftover rows of B (nb % 4): 4×1 blocks
    for (; j < nb; j++) {
      const b0 = bOff + j * ldb;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let p = 0; p < kb; p++) {
        const y = b[b0 + p];
        s0 += a[a0 + p] * y;
        s1 += a[a1 + p] * y;
        s2 += a[a2 + p] * y;
        s3 += a[a3 + p] * y;
      }
      const o = cOff + i * ldc + j;
      if (acc) {
        c[o] += s0;
        c[o + ldc] += s1;
        c[o + 2 * ldc] += s2;
        c[o + 3 * ldc] += s3;
      } else {
        c[o] = s0;
        c[o + ldc] = s1;
        c[o + 2 * ldc] = s2;
        c[o + 3 * ldc] = s3;
      }
    }
  }
  // leftover rows of A (m % 4): 2×4 then 1×4 blocks (the m = 1, 2 cases are VAR's first scales)
  for (; i + 2 <= m; i += 2) rows2(i, nb, kb, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, acc);
  for (; i < m; i++) rows1(i, nb, kb, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, acc);
}

function rows2(
  i: number,
  nb: number,
  kb: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  const a0 = aOff + i * lda;
  const a1 = a0 + lda;
  let j = 0;
  for (; j + 4 <= nb; j += 4) {
    const b0 = bOff + j * ldb;
    const b1 = b0 + ldb;
    const b2 = b1 + ldb;
    const b3 = b2 + ldb;
    let c00 = 0,
      c01 = 0,
      c02 = 0,
      c03 = 0;
    let c10 = 0,
      c11 = 0,
      c12 = 0,
      c13 = 0;
    for (let p = 0; p < kb; p++) {
      const x0 = a[a0 + p];
      const x1 = a[a1 + p];
      let y = b[b0 + p];
      c00 += x0 * y;
      c10 += x1 * y;
      y = b[b1 + p];
      c01 += x0 * y;
      c11 += x1 * y;
      y = b[b2 + p];
      c02 += x0 * y;
      c12 += x1 * y;
      y = b[b3 + p];
      c03 += x0 * y;
      c13 += x1 * y;
    }
    let o = cOff + i * ldc + j;
    if (acc) {
      c[o] += c00;
      c[o + 1] += c01;
      c[o + 2] += c02;
      c[o + 3] += c03;
      o += ldc;
      c[o] += c10;
      c[o + 1] += c11;
      c[o + 2] += c12;
      c[o + 3] += c13;
    } else {
      c[o] = c00;
      c[o + 1] = c01;
      c[o + 2] = c02;
      c[o + 3] = c03;
      o += ldc;
      c[o] = c10;
      c[o + 1] = c11;
      c[o + 2] = c12;
      c[o + 3] = c13;
    }
  }
  for (; j < nb; j++) {
    const b0 = bOff + j * ldb;
    let s0 = 0,
      s1 = 0;
    for (let p = 0; p < kb; p++) {
      const y = b[b0 + p];
      s0 += a[a0 + p] * y;
      s1 += a[a1 + p] * y;
    }
    const o = cOff + i * ldc + j;
    if (acc) {
      c[o] += s0;
      c[o + ldc] += s1;
    } else {
      c[o] = s0;
      c[o + ldc] = s1;
    }
  }
}

function rows1(
  i: number,
  nb: number,
  kb: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  const a0 = aOff + i * lda;
  let j = 0;
  for (; j + 4 <= nb; j += 4) {
    const b0 = bOff + j * ldb;
    const b1 = b0 + ldb;
    const b2 = b1 + ldb;
    const b3 = b2 + ldb;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let p = 0; p < kb; p++) {
      const x = a[a0 + p];
      s0 += x * b[b0 + p];
      s1 += x * b[b1 + p];
      s2 += x * b[b2 + p];
      s3 += x * b[b3 + p];
    }
    const o = cOff + i * ldc + j;
    if (acc) {
      c[o] += s0;
      c[o + 1] += s1;
      c[o + 2] += s2;
      c[o + 3] += s3;
    } else {
      c[o] = s0;
      c[o + 1] = s1;
      c[o + 2] = s2;
      c[o + 3] = s3;
    }
  }
  for (; j < nb; j++) {
    const b0 = bOff + j * ldb;
    let s = 0;
    for (let p = 0; p < kb; p++) s += a[a0 + p] * b[b0 + p];
    const o = cOff + i * ldc + j;
    if (acc) c[o] += s;
    else c[o] = s;
  }
}
