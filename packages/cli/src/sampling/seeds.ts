/**
 * Per-image seeds. Image `index` of class `cls` in a set made with seed `seed` draws from its own Rng,
 * seeded with
 *
 *   h = fmix32(seed ⊕ 0x9E3779B9);  h = fmix32(h ⊕ cls);  imageSeed = fmix32(h ⊕ index)
 *
 * where fmix32 is MurmurHash3's 32-bit finaliser (x ⊕= x≫16; x ·= 0x85EBCA6B; x ⊕= x≫13;
 * x ·= 0xC2B2AE35; x ⊕= x≫16, all mod 2³²). fmix32 is a bijection, so within one (seed, class) no
 * two indices share a seed. The formula is part of the manifest format: changing it changes every set.
 */

export const SEED_DERIVATION =
  'h=fmix32(seed^0x9E3779B9); h=fmix32(h^class); seed_i=fmix32(h^index) (MurmurHash3 fmix32)';

/** MurmurHash3's 32-bit finaliser, a bijection on 0..2³²−1. */
export function fmix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export function imageSeed(seed: number, cls: number, index: number): number {
  let h = fmix32((seed ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ cls) >>> 0);
  return fmix32((h ^ index) >>> 0);
}
