/**
 * The next-scale pyramid: patch sizes per scale, the token ranges they occupy in the flattened
 * sequence, and the scale index of every token (VAR's `lvl_1L`).
 */
import { UsageError } from '../../errors.js';

/** The released 256-px models' schedule (L = 680). */
export const RELEASED_256_PATCH_NUMS: readonly number[] = Object.freeze([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]);
/** The 512-px model's schedule (L = 2240). */
export const RELEASED_512_PATCH_NUMS: readonly number[] = Object.freeze([1, 2, 3, 4, 6, 9, 13, 18, 24, 32]);
/** Both schedules by token count L: the attention shapes the benchmarks time. */
export const RELEASED_PYRAMIDS: Readonly<Record<number, readonly number[]>> = Object.freeze({
  680: RELEASED_256_PATCH_NUMS,
  2240: RELEASED_512_PATCH_NUMS,
});

export function assertPatchNums(patchNums: readonly number[], what = 'patchNums'): void {
  if (!Array.isArray(patchNums) || patchNums.length === 0 || patchNums.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new UsageError(`${what} must be a non-empty array of positive integers, got ${JSON.stringify(patchNums)}`);
  }
}

/** Σ pn². */
export function tokenCount(patchNums: readonly number[]): number {
  return patchNums.reduce((s, p) => s + p * p, 0);
}

/** Cumulative token counts per scale, e.g. [1, 5, 14, 30] for (1,2,3,4): the block-causal mask's scaleEnds. */
export function scaleEnds(patchNums: readonly number[]): number[] {
  let end = 0;
  return patchNums.map((p) => (end += p * p));
}

/** The scale index of every token (`lvl_1L`). */
export function tokenLevels(patchNums: readonly number[]): Int32Array {
  const out = new Int32Array(tokenCount(patchNums));
  let l = 0;
  patchNums.forEach((p, s) => out.fill(s, l, (l += p * p)));
  return out;
}

/**
 * Reads a schedule back from a `lvl_1L` buffer (token counts per scale are pn²). Returns undefined when
 * the buffer is not a valid level sequence (non-decreasing levels 0..S−1 with square counts).
 */
export function patchNumsFromLevels(levels: ArrayLike<number>): number[] | undefined {
  const counts: number[] = [];
  for (let i = 0; i < levels.length; i++) {
    const s = levels[i];
    if (s === counts.length) counts.push(0);
    if (s !== counts.length - 1) return undefined;
    counts[s]++;
  }
  const pns = counts.map((c) => Math.round(Math.sqrt(c)));
  return pns.length && pns.every((p, i) => p * p === counts[i]) ? pns : undefined;
}
