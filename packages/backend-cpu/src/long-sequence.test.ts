import { Rng, Tensor } from '@nextscale/core';
import { describe, expect, it } from 'vitest';
import { createCpuAttention } from './index.js';

/** float64 attention for one query row (the reference for a spot check; the full reference would be O(L²) time). */
function referenceRow(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  i: number,
  L: number,
  d: number,
  scale: number,
): Float64Array {
  const s = new Float64Array(L);
  let max = -Infinity;
  for (let j = 0; j < L; j++) {
    let t = 0;
    for (let c = 0; c < d; c++) t += q[i * d + c] * k[j * d + c];
    s[j] = t * scale;
    max = Math.max(max, s[j]);
  }
  let sum = 0;
  const out = new Float64Array(d);
  for (let j = 0; j < L; j++) {
    const p = Math.exp(s[j] - max);
    sum += p;
    for (let c = 0; c < d; c++) out[c] += p * v[j * d + c];
  }
  return out.map((x) => x / sum);
}

describe('long sequences', () => {
  it('L = 9000, d = 64 runs with the attention holding under 64 MB (flash-style: no L × L scores)', async () => {
    const [L, d] = [9000, 64];
    const rng = new Rng(9000);
    const [q, k, v] = [0, 1, 2].map(() => new Tensor([1, 1, L, d], rng.normalArray(L * d))) as [Tensor, Tensor, Tensor];
    const att = createCpuAttention({ kernel: 'wasm', threads: 2 });
    try {
      const rss0 = process.memoryUsage().rss;
      const { output } = await att.attend(q, k, v, { scale: 1 / Math.sqrt(d) });
      const rssGrowth = process.memoryUsage().rss - rss0;
      const held = att.kernelMemoryBytes();
      const scoresWouldBe = L * L * 4; // what materialising the score matrix would cost, in float32
      console.log(
        `L=${L} d=${d}: kernel memory ${(held / 2 ** 20).toFixed(1)} MiB, rss growth ${(rssGrowth / 2 ** 20).toFixed(1)} MiB, an L×L float32 matrix ${(scoresWouldBe / 2 ** 20).toFixed(0)} MiB`,
      );
      // the kernel's memory holds Q, K, V and out (4·L·d floats = 9 MiB) plus per-thread scratch
      expect(held).toBeGreaterThanOrEqual(4 * L * d * 4);
      expect(held).toBeLessThan(64 * 2 ** 20);
      expect(rssGrowth).toBeLessThan(64 * 2 ** 20);
      for (const i of [0, 4321, L - 1]) {
        const want = referenceRow(q.data, k.data, v.data, i, L, d, 1 / Math.sqrt(d));
        for (let c = 0; c < d; c++) expect(Math.abs(output.data[i * d + c] - want[c])).toBeLessThanOrEqual(2e-6);
      }
    } finally {
      await att.dispose();
    }
  });
});
