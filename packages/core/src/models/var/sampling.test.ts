import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../random.js';
import {
  filteredProbabilities,
  filterTopK,
  filterTopP,
  gumbelSoftmax,
  sampleCategorical,
  sampleTopKTopP,
} from './sampling.js';
import { maxAbsDiff, ref, REFS_JSON } from './test-support.js';

const worst: Record<string, number> = {};
afterAll(() => console.log('sampler.* max |diff|:', JSON.stringify(worst)));

describe('sample_with_top_k_top_p_ filtering', () => {
  it.each(['case0', 'case1', 'case2'])(
    'sampler.%s: the distribution handed to multinomial matches the reference',
    async (c) => {
      const { top_k, top_p } = REFS_JSON.info[`sampler.${c}`] as { top_k: number; top_p: number };
      const logits = (await ref(`sampler.${c}.logits`)).data.slice();
      const expected = await ref(`sampler.${c}.probs`);
      const V = expected.shape[2];
      const probs = filteredProbabilities(logits, V, { topK: top_k, topP: top_p });
      worst[c] = maxAbsDiff(probs, expected.data);
      expect(worst[c]).toBeLessThanOrEqual(1e-6);
      // The filter is exact: the same entries are zero.
      for (let i = 0; i < probs.length; i++) expect(probs[i] === 0, `entry ${i}`).toBe(expected.data[i] === 0);
    },
  );

  it('keeps every entry tied with the k-th largest', () => {
    const row = Float32Array.from([1, 3, 2, 3, 0, 2]);
    filterTopK(row, 6, 3);
    expect(Array.from(row)).toEqual([-Infinity, 3, 2, 3, -Infinity, 2]);
  });

  it('never removes the largest logit, however small top_p is', () => {
    const row = Float32Array.from([0, 5, 1, 2]);
    filterTopP(row, 4, 1e-9);
    expect(Array.from(row)).toEqual([-Infinity, 5, -Infinity, -Infinity]);
  });

  it('top_p removes the tail whose cumulative probability is ≤ 1 − top_p', () => {
    // softmax(ln[1,2,3,4]) = [0.1, 0.2, 0.3, 0.4]: with top_p 0.75 the cumsum [0.1, 0.3] ≤ 0.25 removes only the 0.1 entry.
    const row = Float32Array.from([1, 2, 3, 4].map(Math.log));
    filterTopP(row, 4, 0.75);
    expect(row[0]).toBe(-Infinity);
    expect(Array.from(row.subarray(1)).every(Number.isFinite)).toBe(true);
  });
});

describe('drawing tokens', () => {
  it('top_k = 1 is greedy', () => {
    const logits = Float32Array.from([0.1, 0.7, 0.2, /* row 2 */ 3, -1, 2.9]);
    expect(Array.from(sampleTopKTopP(logits, 3, { topK: 1, topP: 0 }, new Rng(5)))).toEqual([1, 0]);
  });

  it('never draws a zero-probability entry and follows the distribution', () => {
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleCategorical([0, 0.25, 0, 0.75], rng)]++;
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
    expect(counts[3] / 4000).toBeCloseTo(0.75, 1);
  });

  it('the same seed draws the same tokens', () => {
    const logits = new Rng(3).normalArray(20 * 64);
    const a = sampleTopKTopP(logits.slice(), 64, { topK: 20, topP: 0.9 }, new Rng(11));
    const b = sampleTopKTopP(logits.slice(), 64, { topK: 20, topP: 0.9 }, new Rng(11));
    const c = sampleTopKTopP(logits.slice(), 64, { topK: 20, topP: 0.9 }, new Rng(12));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('Gumbel softmax gives probability rows that ignore filtered (−∞) entries', () => {
    const logits = Float32Array.from([1, -Infinity, 2, 0.5, /* row 2 */ -Infinity, 0, 0, 0]);
    const w = gumbelSoftmax(logits, 4, 0.5, new Rng(2));
    expect(w[1]).toBe(0);
    expect(w[4]).toBe(0);
    expect(w[0] + w[2] + w[3]).toBeCloseTo(1, 6);
    expect(w[5] + w[6] + w[7]).toBeCloseTo(1, 6);
  });
});

describe('one Rng per row', () => {
  it("a row's draws from its own Rng do not depend on the other rows", () => {
    const V = 48;
    const logits = new Rng(9).normalArray(4 * V);
    const seeds = [3, 14, 15, 92];
    const together = sampleTopKTopP(
      logits.slice(),
      V,
      { topK: 30, topP: 0.9 },
      seeds.map((s) => new Rng(s)),
    );
    const smooth = gumbelSoftmax(
      logits.slice(),
      V,
      0.5,
      seeds.map((s) => new Rng(s)),
    );
    for (let r = 0; r < 4; r++) {
      const row = logits.slice(r * V, (r + 1) * V);
      expect(sampleTopKTopP(row.slice(), V, { topK: 30, topP: 0.9 }, new Rng(seeds[r]))[0]).toBe(together[r]);
      expect(Array.from(gumbelSoftmax(row, V, 0.5, new Rng(seeds[r])))).toEqual(
        Array.from(smooth.subarray(r * V, (r + 1) * V)),
      );
    }
    // and the streams differ: the same row under four seeds does not give one token four times
    const row0 = logits.slice(0, V);
    const draws = new Set(seeds.map((s) => sampleTopKTopP(row0.slice(), V, { topK: 0, topP: 0 }, new Rng(s))[0]));
    expect(draws.size).toBeGreaterThan(1);
  });
});

// The filters select and sort values instead of sorting every row's indices (issue #24: the sampler was ~0.45 s of a
// d16 image). These are the plain definitions, written out here: a full sort for top-k, an (value, index) ordering and
// the cumulative sum for top-p; the fast filters must remove exactly the same entries.
function topKByFullSort(row: Float32Array, topK: number): void {
  const V = row.length;
  if (topK <= 0 || topK >= V) return;
  const threshold = Float32Array.from(row).sort()[V - topK];
  for (let i = 0; i < V; i++) if (row[i] < threshold) row[i] = -Infinity;
}
function topPByIndexOrder(row: Float32Array, topP: number): void {
  const limit = Math.fround(1 - topP);
  const idx = Array.from(row.keys()).filter((i) => row[i] !== -Infinity);
  idx.sort((a, b) => row[a] - row[b] || a - b);
  const max = Math.max(...row);
  const e = idx.map((i) => Math.exp(row[i] - max));
  const sum = e.reduce((s, x) => s + x, 0);
  let cum = 0;
  const remove: number[] = [];
  for (let j = 0; j < idx.length - 1; j++) {
    cum += Math.fround(e[j] / sum);
    if (Math.fround(cum) <= limit) remove.push(idx[j]);
  }
  for (const i of remove) row[i] = -Infinity;
}

describe('the fast filters remove what the plain definitions remove', () => {
  // rows with many ties (values on a coarse grid), ±0, −∞ and +∞ entries, and plain normal rows
  const rng = new Rng(21);
  const rows: Float32Array[] = [];
  for (let r = 0; r < 60; r++) {
    const V = [7, 64, 513][r % 3];
    const row = rng.normalArray(V, 2);
    if (r % 4 === 1) for (let i = 0; i < V; i++) row[i] = Math.round(row[i] * 2) / 2; // ties
    if (r % 4 === 2) for (let i = 0; i < V; i += 3) row[i] = i % 2 ? -0 : 0; // signed zeros
    if (r % 5 === 3) row[r % V] = -Infinity;
    rows.push(row);
  }
  rows.push(Float32Array.from([Infinity, 1, Infinity, 0, -Infinity, 2]));
  rows.push(Float32Array.from([0, -0, 0, -0, 0, -0, 0, -0]));

  it.each([1, 3, 5, 40, 200, 600])('top-k %i', (k) => {
    for (const row of rows) {
      const fast = row.slice();
      const plain = row.slice();
      filterTopK(fast, fast.length, k);
      topKByFullSort(plain, k);
      expect(Array.from(fast)).toEqual(Array.from(plain));
    }
  });

  it.each([0.05, 0.5, 0.9, 0.95, 0.999])('top-p %f, after a top-k of 40', (p) => {
    for (const row of rows) {
      const fast = row.slice();
      filterTopK(fast, fast.length, 40);
      const plain = fast.slice();
      filterTopP(fast, fast.length, p);
      topPByIndexOrder(plain, p);
      expect(Array.from(fast)).toEqual(Array.from(plain));
    }
  });

  it('a row holding NaN filters as the index ordering does', () => {
    const row = Float32Array.from([1, Number.NaN, 3, 2, 0.5, 2]);
    const fast = row.slice();
    const plain = row.slice();
    filterTopP(fast, 6, 0.6);
    topPByIndexOrder(plain, 0.6);
    expect(Array.from(fast)).toEqual(Array.from(plain));
    const k = row.slice();
    filterTopK(k, 6, 3);
    const kPlain = row.slice();
    topKByFullSort(kPlain, 3);
    expect(Array.from(k)).toEqual(Array.from(kPlain));
  });
});
