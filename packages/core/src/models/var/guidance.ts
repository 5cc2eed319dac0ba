/**
 * Classifier-free guidance as VAR applies it: the batch is [cond; uncond] and the guidance weight
 * ramps linearly over the scales, t = cfg·si/(S−1), so the first scale is unguided and cfg = 0 (not 1)
 * means no guidance.
 */
import { Tensor } from '../../tensor.js';

/** si/(S−1): 0 at the first scale, 1 at the last (0 for a single-scale schedule). */
export function progressRatio(si: number, scales: number): number {
  return scales > 1 ? si / (scales - 1) : 0;
}

/** raw (2B, T, V) with conditional rows first → (1+t)·cond − t·uncond, (B, T, V), in float32 steps like torch. */
export function mixGuidance(raw: Tensor, t: number): Tensor {
  const [twoB, T, V] = raw.shape as [number, number, number];
  const B = twoB / 2;
  const half = B * T * V;
  const a = Math.fround(1 + t);
  const b = Math.fround(t);
  const out = new Tensor([B, T, V]);
  for (let i = 0; i < half; i++) out.data[i] = Math.fround(a * raw.data[i]) - Math.fround(b * raw.data[half + i]);
  return out;
}
