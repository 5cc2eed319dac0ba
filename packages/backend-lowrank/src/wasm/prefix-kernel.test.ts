import { describe, expect, it } from 'vitest';
import { Rng } from '@nextscale/core';
import { createWasmPrefixKernel, wasmPrefixKernel } from './prefix-kernel.js';

/** Plain triple loops in float64, the definition of both operations. */
function naiveFold(S: Float64Array, phi: Float64Array, u: Float64Array, n: number, r: number, D: number): void {
  for (let m = 0; m < r; m++)
    for (let c = 0; c < D; c++) for (let j = 0; j < n; j++) S[m * D + c] += phi[j * r + m] * u[j * D + c];
}
function naiveRead(S: Float64Array, phi: Float64Array, n: number, r: number, D: number): Float64Array {
  const acc = new Float64Array(n * D);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < D; c++) for (let m = 0; m < r; m++) acc[i * D + c] += phi[i * r + m] * S[m * D + c];
  return acc;
}
const relErr = (a: Float64Array, b: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
};

describe('WebAssembly prefix-sum kernel (float64)', () => {
  const rng = new Rng(11);
  const kernel = createWasmPrefixKernel();
  // Odd and even D (the column tail), n below, at and above a multiple of 4 (the row tail), r = 1.
  for (const [n, r, D] of [
    [1, 1, 1],
    [3, 5, 2],
    [4, 17, 17],
    [7, 153, 17],
    [13, 65, 65],
    [8, 10, 64],
  ] as const) {
    it(`folds and reads like the plain loops (n = ${n}, r = ${r}, D = ${D})`, () => {
      const S = Float64Array.from(rng.normalArray(r * D));
      const phi = Float64Array.from(rng.normalArray(n * r));
      const u = Float64Array.from(rng.normalArray(n * D));
      const want = S.slice();
      naiveFold(want, phi, u, n, r, D);
      const got = S.slice();
      kernel.fold(got, phi, u, n, r, D);
      expect(relErr(got, want)).toBeLessThan(1e-13);
      const acc = new Float64Array(n * D).fill(Number.NaN); // read overwrites, never accumulates into old contents
      kernel.read(got, phi, n, r, D, acc);
      expect(relErr(acc, naiveRead(got, phi, n, r, D))).toBeLessThan(1e-13);
    });
  }

  it('grows its memory for large operands and leaves the inputs untouched', () => {
    const [n, r, D] = [64, 2145, 65];
    const S = Float64Array.from(rng.normalArray(r * D));
    const phi = Float64Array.from(rng.normalArray(n * r));
    const phiBefore = phi.slice();
    const acc = new Float64Array(n * D);
    kernel.read(S, phi, n, r, D, acc);
    expect(relErr(acc, naiveRead(S, phi, n, r, D))).toBeLessThan(1e-13);
    expect(phi).toEqual(phiBefore);
  });

  it('featurizes along a monomial chain: 1, x0, x1, x0², √2·x0·x1, x1² (d = 2, degree ≤ 2), weighted', () => {
    const table = {
      r: 6,
      parent: Int32Array.of(0, 0, 0, 1, 1, 2),
      coord: Int32Array.of(0, 0, 1, 0, 1, 1),
      mult: Float64Array.of(1, 1, 1, 1, Math.SQRT2, 1),
    };
    const w = Float64Array.of(1, 2, 3, 4, 5, 6);
    const x = Float32Array.of(9, 9, 0.5, -2, 1.5, 3); // rows from offset 2: (0.5, −2) and (1.5, 3)
    const out = new Float64Array(12);
    kernel.featurize(x, 2, 2, 2, 2, w, table, out); // a = 2: features of (1, −4) and (3, 6)
    const want = [1, 2, -12, 4, 5 * Math.SQRT2 * -4, 6 * 16, 1, 6, 18, 36, 5 * Math.SQRT2 * 18, 6 * 36];
    want.forEach((v, i) => expect(out[i], `feature ${i}`).toBeCloseTo(v, 12));
  });

  it('is shared process-wide where WebAssembly SIMD exists', () => {
    expect(wasmPrefixKernel()).not.toBeNull();
    expect(wasmPrefixKernel()).toBe(wasmPrefixKernel());
  });
});
