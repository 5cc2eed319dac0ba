/**
 * Which Phi (quant_resi conv) serves each scale. VAR picks it by `argmin |ticks − si/(S−1)|` over
 * numpy.linspace ticks, and several released schedules hit mathematical ties that are decided by
 * float64 rounding. So this file replays numpy's arithmetic step by step instead of using a closed form.
 */
import { UsageError } from '../../errors.js';

/** `numpy.linspace(start, stop, num)` (endpoint=True), float64, same operation order as numpy. */
export function linspace(start: number, stop: number, num: number): number[] {
  if (!Number.isInteger(num) || num < 1) throw new UsageError(`linspace needs num >= 1, got ${num}`);
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  // numpy overwrites the last sample with `stop`, so it is exact even when i·step + start is not.
  out[num - 1] = stop;
  return out;
}

/** The ticks of VAR's PhiPartiallyShared / PhiNonShared for K Phis (K = 4 uses thirds, others halves). */
export function phiTicks(K: number): number[] {
  return K === 4 ? linspace(1 / 3 / K, 1 - 1 / 3 / K, K) : linspace(1 / 2 / K, 1 - 1 / 2 / K, K);
}

/** Index of the Phi used at scale `si` of `S`; the first index wins exact ties, like np.argmin. */
export function phiIndex(si: number, S: number, K: number): number {
  if (S < 2) throw new UsageError(`a multi-scale quantizer needs at least 2 scales (VAR divides by S−1), got ${S}`);
  const at = si / (S - 1);
  const ticks = phiTicks(K);
  let best = 0;
  let bestDist = Math.abs(ticks[0] - at);
  for (let k = 1; k < K; k++) {
    const d = Math.abs(ticks[k] - at);
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best;
}

/** Phi index for every scale of an S-scale schedule with K Phis. */
export function phiIndexPerScale(S: number, K: number): number[] {
  return Array.from({ length: S }, (_, si) => phiIndex(si, S, K));
}
