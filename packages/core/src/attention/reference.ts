/**
 * Exact attention in float64, written for clarity, not speed: the ground truth of the conformance suite.
 */
import { Tensor, type TensorLike } from '../tensor.js';
import type { AttentionMask } from './contract.js';
import { visibleKeys } from './validate.js';

export function referenceAttention(
  q: TensorLike,
  k: TensorLike,
  v: TensorLike,
  scale: number,
  mask: AttentionMask = { kind: 'none' },
): Float64Array {
  const [B, H, Lq, d] = q.shape as [number, number, number, number];
  const Lk = k.shape[2];
  const out = new Float64Array(B * H * Lq * d);
  const seen = visibleKeys(mask, Lk);
  const w = new Float64Array(Lk);
  for (let bh = 0; bh < B * H; bh++) {
    const qo = bh * Lq * d;
    const ko = bh * Lk * d;
    for (let i = 0; i < Lq; i++) {
      const n = seen(i);
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q.data[qo + i * d + c] * k.data[ko + j * d + c];
        w[j] = s * scale;
        if (w[j] > max) max = w[j];
      }
      let sum = 0;
      for (let j = 0; j < n; j++) sum += w[j] = Math.exp(w[j] - max);
      for (let j = 0; j < n; j++) {
        const p = w[j] / sum;
        for (let c = 0; c < d; c++) out[qo + i * d + c] += p * v.data[ko + j * d + c];
      }
    }
  }
  return out;
}

export function referenceAttentionTensor(
  q: TensorLike,
  k: TensorLike,
  v: TensorLike,
  scale: number,
  mask?: AttentionMask,
): Tensor {
  return new Tensor(q.shape, Float32Array.from(referenceAttention(q, k, v, scale, mask)));
}
