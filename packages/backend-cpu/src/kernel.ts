/**
 * Exact attention for one (batch, head) slice, in plain TypeScript: max-subtracted softmax, with the normaliser and
 * the weighted sum of values accumulated in float64 so long rows lose nothing to float32 rounding. It is the fallback
 * where WebAssembly SIMD is missing (or the `kernel: 'js'` option asks for it) and the reference the faster wasm kernel is checked
 * against; its memory is one row of Lk scores.
 */

/**
 * out[i] = Σ_j softmax_j(τ q_i·k_j) v_j over keys j < visible(i).
 * q: (Lq, d) at qOff, k/v: (≥ Lk, d) at kvOff, out: (Lq, d) at qOff.
 */
export function attendSlice(
  q: Float32Array,
  qOff: number,
  k: Float32Array,
  v: Float32Array,
  kvOff: number,
  out: Float32Array,
  Lq: number,
  d: number,
  scale: number,
  visible: (i: number) => number,
  scores: Float64Array,
  acc: Float64Array,
): void {
  for (let i = 0; i < Lq; i++) {
    const n = visible(i);
    const qi = qOff + i * d;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const kj = kvOff + j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += q[qi + c] * k[kj + c];
      s *= scale;
      scores[j] = s;
      if (s > max) max = s;
    }
    acc.fill(0, 0, d);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const p = Math.exp(scores[j] - max);
      sum += p;
      const vj = kvOff + j * d;
      for (let c = 0; c < d; c++) acc[c] += p * v[vj + c];
    }
    const inv = 1 / sum;
    for (let c = 0; c < d; c++) out[qi + c] = acc[c] * inv;
  }
}
