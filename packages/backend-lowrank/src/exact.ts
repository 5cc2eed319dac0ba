/**
 * Exact attention rows in float64 (max-subtracted softmax), for the calls and rows the low-rank path
 * refuses or recomputes. Same arithmetic as the exact CPU backend.
 */

/**
 * out[outOff..+d) = Σ_{j<n} softmax_j(τ q·k_j) v_j for one query.
 * q at qOff (d floats); keys/values are (≥ n, d) at kvOff.
 */
export function exactRow(
  q: Float32Array,
  qOff: number,
  k: Float32Array,
  v: Float32Array,
  kvOff: number,
  n: number,
  d: number,
  scale: number,
  out: Float64Array,
  outOff: number,
  scores: Float64Array,
): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const kj = kvOff + j * d;
    let s = 0;
    for (let c = 0; c < d; c++) s += q[qOff + c] * k[kj + c];
    s *= scale;
    scores[j] = s;
    if (s > max) max = s;
  }
  out.fill(0, outOff, outOff + d);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const p = Math.exp(scores[j] - max);
    sum += p;
    const vj = kvOff + j * d;
    for (let c = 0; c < d; c++) out[outOff + c] += p * v[vj + c];
  }
  const inv = 1 / sum;
  for (let c = 0; c < d; c++) out[outOff + c] *= inv;
}

/** Exact rows [i0, i1) of one (batch, head) slice, written to a float32 output. */
export function exactRows(
  q: Float32Array,
  qBase: number,
  k: Float32Array,
  v: Float32Array,
  kvOff: number,
  visible: (i: number) => number,
  i0: number,
  i1: number,
  d: number,
  scale: number,
  out: Float32Array,
  outBase: number,
): void {
  const row = new Float64Array(d);
  let scores = new Float64Array(64);
  for (let i = i0; i < i1; i++) {
    const n = visible(i);
    if (scores.length < n) scores = new Float64Array(n);
    exactRow(q, qBase + i * d, k, v, kvOff, n, d, scale, row, 0, scores);
    for (let c = 0; c < d; c++) out[outBase + i * d + c] = row[c];
  }
}
