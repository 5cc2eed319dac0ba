/** Shared by the wasm tests only (not exported from the package): checks an engine against the TS reference. */
import { expect } from 'vitest';
import { type Rng } from '@nextscale/core';
import { jsGemmEngine, type GemmEngine } from '@nextscale/core/ops';

export interface Pad {
  a: number;
  b: number;
  c: number;
  lda: number;
  ldb: number;
  ldc: number;
}
const NO_PAD: Pad = { a: 0, b: 0, c: 0, lda: 0, ldb: 0, ldc: 0 };
const SENTINEL = 12345.5;

/**
 * Runs `engine` and the plain TypeScript engine on the same random operands and asserts every element agrees within
 * the float32 reassociation bound (k + 4)·2⁻²⁴·Σ_p |A[i,p]·B[j,p]| (a dropped or doubled term is ≈ Σ/k, far over it),
 * and that nothing outside the C region was written.
 */
export function checkAgainstReference(
  engine: GemmEngine,
  rng: Rng,
  m: number,
  n: number,
  k: number,
  pad: Pad = NO_PAD,
): Float32Array {
  const lda = k + pad.lda;
  const ldb = k + pad.ldb;
  const ldc = n + pad.ldc;
  const a = rng.normalArray(pad.a + m * lda);
  const b = rng.normalArray(pad.b + n * ldb);
  const got = new Float32Array(pad.c + m * ldc).fill(SENTINEL);
  const want = new Float32Array(got.length).fill(SENTINEL);
  engine.gemmNT(m, n, k, a, pad.a, lda, b, pad.b, ldb, got, pad.c, ldc);
  jsGemmEngine.gemmNT(m, n, k, a, pad.a, lda, b, pad.b, ldb, want, pad.c, ldc);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let mag = 0;
      for (let p = 0; p < k; p++) mag += Math.abs(a[pad.a + i * lda + p] * b[pad.b + j * ldb + p]);
      const q = pad.c + i * ldc + j;
      const tol = (k + 4) * 2 ** -24 * mag + 1e-30;
      if (!(Math.abs(got[q] - want[q]) <= tol)) {
        expect.fail(`${engine.name} ${m}×${n}×${k}: C[${i},${j}] = ${got[q]}, reference ${want[q]} (tol ${tol})`);
      }
    }
  }
  for (let q = 0; q < got.length; q++) {
    const rel = q - pad.c;
    const inside = rel >= 0 && Math.floor(rel / ldc) < m && rel % ldc < n;
    if (!inside && got[q] !== SENTINEL) expect.fail(`${engine.name} ${m}×${n}×${k} wrote outside C at ${q}`);
  }
  return got;
}

/** Asserts bitwise equality (vitest's deep equality is slow on large typed arrays); names the first difference. */
export function expectBitwiseEqual(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) expect.fail(`${label}: element ${i} is ${got[i]}, want bitwise ${want[i]}`);
  }
}
