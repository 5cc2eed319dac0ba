/** Input generators shared by this package's tests (not exported from the package). */
import { Rng, Tensor } from '@nextscale/core';

/** n random rows of R^d with ℓ2 norms in [minNorm, 1]·radius, the first row exactly at the radius. */
export function ballRows(rng: Rng, n: number, d: number, radius: number, minNorm = 0.3): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = Array.from({ length: d }, () => {
      const z = rng.normal();
      s += z * z;
      return z;
    });
    const norm = Math.sqrt(s) || 1;
    const target = radius * (i === 0 ? 1 : minNorm + (1 - minNorm) * rng.uniform());
    for (let c = 0; c < d; c++) out[i * d + c] = (row[c] / norm) * target;
  }
  return out;
}

/** A (B, H, L, d) tensor whose every (b, h) slice is built by `slice`. */
export function tensorOf(B: number, H: number, L: number, d: number, slice: (bh: number) => Float32Array): Tensor {
  const t = new Tensor([B, H, L, d]);
  for (let bh = 0; bh < B * H; bh++) t.data.set(slice(bh), bh * L * d);
  return t;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Cumulative ends of a pyramid of side lengths, e.g. [1, 2, 4] → [1, 5, 21]. */
export function pyramidEnds(sides: number[]): number[] {
  let e = 0;
  return sides.map((s) => (e += s * s));
}
