/**
 * Token sampling as VAR's `sample_with_top_k_top_p_` does it (docs/var-port.md §5.2), on row-major
 * (rows, V) logits: top-k, then top-p (nucleus) filtering in place, softmax, one categorical draw per
 * row from the seeded Rng. Plus the Gumbel-softmax of `more_smooth`.
 *
 * torch's RNG stream is not reproduced (no port can); the filtering is, decision for decision, so
 * greedy sampling (topK = 1) and the filtered distributions match the reference.
 */
import { UsageError } from '../../errors.js';
import type { Rng } from '../../random.js';

export interface SamplingOptions {
  /** Keep the k largest logits per row (ties with the k-th survive); 0 = off. Values ≥ V keep everything. */
  topK: number;
  /** Keep the smallest set of largest logits whose probability exceeds topP; 0 = off. */
  topP: number;
}

export function assertSamplingOptions(o: SamplingOptions): void {
  if (!Number.isInteger(o.topK) || o.topK < 0)
    throw new UsageError(`topK must be an integer ≥ 0 (0 = off), got ${o.topK}`);
  if (!(o.topP >= 0 && o.topP <= 1)) throw new UsageError(`topP must be in [0, 1] (0 = off), got ${o.topP}`);
}

/**
 * In place, every row: entries below the k-th largest value become −∞ (torch: `logits < topk(...).amin()`).
 * The k-th largest is found by selection, not a full sort (~20× fewer steps at V = 4096, k = 900: the sampler was
 * ~0.25 s of a d16 image's ~0.45 s "rest" time); a row holding NaN is sorted as before (selection needs an order).
 */
export function filterTopK(logits: Float32Array, V: number, topK: number): void {
  if (topK <= 0 || topK >= V) return;
  const scratch = new Float32Array(V);
  for (let r = 0; r < logits.length / V; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    scratch.set(row);
    const threshold = hasNaN(row) ? scratch.sort()[V - topK] : kthSmallest(scratch, V - topK);
    for (let i = 0; i < V; i++) if (row[i] < threshold) row[i] = -Infinity;
  }
}

function hasNaN(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== a[i]) return true;
  return false;
}

/**
 * The value at index k of `a` sorted ascending (a holds no NaN); reorders `a`. Hoare quickselect with a
 * median-of-three pivot. ±0 may come back as either sign: every caller compares with `<`, where they are equal.
 */
export function kthSmallest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of a[lo], a[mid], a[hi] as the pivot
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    // now a[lo..j] ≤ pivot ≤ a[i..hi], and a[j+1..i-1] (if any) equal the pivot
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return pivot;
  }
  return a[k];
}

/**
 * In place, every row: sort ascending, softmax, cumulative sum; entries whose cumulative probability is
 * ≤ 1 − topP become −∞, never the last (largest). torch accumulates the float32 cumsum in double and
 * compares in float32 (the Python scalar 1 − top_p is cast to the tensor's dtype), and so do we.
 *
 * The cumulative sum only grows, so the removed entries are a prefix of the ascending order (ties by index, as a
 * stable sort leaves them): the first m. Only the values need ordering (a native sort of the row's kept values, no
 * comparator: ~4× faster than ordering indices); the prefix is then "below the m-th value, plus the lowest-index
 * entries equal to it". A row holding NaN or +∞ takes the index sort (filterTopPRowByIndex), where NaN orders as it did.
 */
export function filterTopP(logits: Float32Array, V: number, topP: number): void {
  if (topP <= 0) return;
  const limit = Math.fround(1 - topP);
  const values = new Float32Array(V);
  const probs = new Float64Array(V);
  for (let r = 0; r < logits.length / V; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    // −∞ entries (top-k's removals) would sort first with probability exactly 0: they change neither the softmax's
    // sum nor the cumulative sum, so only the others are ordered (~topK instead of V; same result bit for bit)
    let n = 0;
    let max = -Infinity;
    let odd = false;
    for (let i = 0; i < V; i++) {
      const v = row[i];
      if (v !== v || v === Infinity) odd = true;
      if (v > max) max = v;
      if (v !== -Infinity) values[n++] = v;
    }
    if (odd) {
      filterTopPRowByIndex(row, limit, probs);
      continue;
    }
    const sorted = values.subarray(0, n).sort();
    let sum = 0;
    for (let j = 0; j < n; j++) sum += probs[j] = Math.exp(sorted[j] - max);
    let cum = 0;
    let m = 0; // entries removed: the first m of the ascending order
    while (m < n - 1) {
      cum += Math.fround(probs[m] / sum);
      if (!(Math.fround(cum) <= limit)) break;
      m++;
    }
    if (m === 0) continue;
    const t = sorted[m - 1];
    let ties = m; // of the removed, how many equal t (the rest are below it)
    while (ties > 0 && sorted[m - ties] < t) ties--;
    for (let i = 0; i < V; i++) {
      const v = row[i];
      if (v < t) row[i] = -Infinity;
      else if (v === t && ties > 0) {
        row[i] = -Infinity;
        ties--;
      }
    }
  }
}

/** filterTopP's row by ordering indices (value, then index), for rows holding NaN or +∞. */
function filterTopPRowByIndex(row: Float32Array, limit: number, probs: Float64Array): void {
  const V = row.length;
  const order = new Int32Array(V);
  let n = 0;
  let max = -Infinity;
  for (let i = 0; i < V; i++) {
    max = Math.max(max, row[i]);
    if (row[i] !== -Infinity) order[n++] = i;
  }
  const kept = order.subarray(0, n);
  kept.sort((a, b) => row[a] - row[b] || a - b);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += probs[j] = Math.exp(row[kept[j]] - max);
  let cum = 0;
  const remove: number[] = [];
  for (let j = 0; j < n - 1; j++) {
    cum += Math.fround(probs[j] / sum);
    if (Math.fround(cum) <= limit) remove.push(kept[j]);
  }
  for (const i of remove) row[i] = -Infinity;
}

function softmaxInto(row: ArrayLike<number>, out: Float64Array, order?: ArrayLike<number>): void {
  const n = row.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += out[j] = Math.exp(row[order ? order[j] : j] - max);
  for (let j = 0; j < n; j++) out[j] = out[j] / sum;
}

/** The distribution `torch.multinomial` samples from: softmax of the filtered logits, (rows, V). Filters in place. */
export function filteredProbabilities(logits: Float32Array, V: number, o: SamplingOptions): Float32Array {
  filterTopK(logits, V, o.topK);
  filterTopP(logits, V, o.topP);
  const out = new Float32Array(logits.length);
  const p = new Float64Array(V);
  // softmaxInto's steps, written out for float32 rows (its generic ArrayLike reads cost ~4× these at d16's B=8)
  for (let r = 0; r < logits.length / V; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[o + i]);
    let sum = 0;
    for (let i = 0; i < V; i++) {
      const v = logits[o + i];
      // a filtered (−∞) entry's exp is exactly 0 whenever max is not −∞ itself: skipped (most of a top-k row)
      sum += p[i] = v === -Infinity && max !== -Infinity ? 0 : Math.exp(v - max);
    }
    for (let i = 0; i < V; i++) out[o + i] = p[i] / sum;
  }
  return out;
}

/** One draw from a categorical distribution; zero-probability entries are never chosen. */
export function sampleCategorical(probs: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  const u = rng.uniform() * total;
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last = i;
    if (cum > u) return i;
  }
  return last; // rounding left u at the very top: the last possible entry
}

/**
 * The Rng of row r: one shared stream (drawn in row order) or one stream per row, so that a row's
 * draws do not depend on the other rows of the batch.
 */
export type RowRng = Rng | readonly Rng[];

function rowRng(rng: RowRng, r: number): Rng {
  return Array.isArray(rng) ? (rng as readonly Rng[])[r] : (rng as Rng);
}

/**
 * `sample_with_top_k_top_p_`: filters `logits` (rows, V) in place, then draws one token per row, in
 * row order, from the seeded Rng (or from row r's own Rng).
 */
export function sampleTopKTopP(logits: Float32Array, V: number, o: SamplingOptions, rng: RowRng): Int32Array {
  const probs = filteredProbabilities(logits, V, o);
  const rows = logits.length / V;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = sampleCategorical(probs.subarray(r * V, (r + 1) * V), rowRng(rng, r));
  return out;
}

/** `more_smooth`'s temperature at progress ratio si/(S−1) (MaskGIT's schedule). */
export function smoothTemperature(ratio: number): number {
  return Math.max(0.27 * (1 - 0.95 * ratio), 0.005);
}

/**
 * Soft token weights (rows, V): softmax((logits·(1+ratio) + g) / tau) with Gumbel noise g = −log(Exp(1))
 * (`gumbel_softmax_with_rng`, hard=False), on the already filtered logits, so −∞ entries weigh 0.
 */
export function gumbelSoftmax(logits: Float32Array, V: number, ratio: number, rng: RowRng): Float32Array {
  const tau = smoothTemperature(ratio);
  const out = new Float32Array(logits.length);
  const y = new Float64Array(V);
  const p = new Float64Array(V);
  for (let r = 0; r < logits.length / V; r++) {
    const g = rowRng(rng, r);
    for (let i = 0; i < V; i++) y[i] = (logits[r * V + i] * (1 + ratio) - Math.log(g.exponential())) / tau;
    softmaxInto(y, p);
    out.set(p, r * V);
  }
  return out;
}
