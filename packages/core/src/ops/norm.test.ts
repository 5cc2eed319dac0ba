import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { ShapeError, Tensor } from '../tensor.js';
import { groupNorm, l2Normalize, layerNorm } from './norm.js';
import { expectClose, randTensor } from './ops.test-support.js';

function naiveLayerNorm(x: Tensor, eps: number): Float64Array {
  const n = x.shape[x.shape.length - 1];
  const y = new Float64Array(x.data.length);
  for (let o = 0; o < x.data.length; o += n) {
    const row = Array.from(x.data.subarray(o, o + n));
    const mean = row.reduce((a, b) => a + b, 0) / n;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    row.forEach((v, i) => (y[o + i] = (v - mean) / Math.sqrt(variance + eps)));
  }
  return y;
}

function naiveGroupNorm(x: Tensor, G: number, w: Tensor, b: Tensor, eps: number): Float64Array {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const cg = C / G;
  const y = new Float64Array(x.data.length);
  const at = (bb: number, c: number, i: number) => (bb * C + c) * H * W + i;
  for (let bb = 0; bb < B; bb++)
    for (let g = 0; g < G; g++) {
      const vals: number[] = [];
      for (let c = g * cg; c < (g + 1) * cg; c++) for (let i = 0; i < H * W; i++) vals.push(x.data[at(bb, c, i)]);
      const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
      const variance = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length;
      for (let c = g * cg; c < (g + 1) * cg; c++)
        for (let i = 0; i < H * W; i++) {
          y[at(bb, c, i)] = ((x.data[at(bb, c, i)] - mean) / Math.sqrt(variance + eps)) * w.data[c] + b.data[c];
        }
    }
  return y;
}

describe('layerNorm', () => {
  it('normalises over the last dim with the biased variance (by hand)', () => {
    // [1,2,3,4]: mean 2.5, biased variance 1.25
    const y = layerNorm(new Tensor([2, 4], Float32Array.of(1, 2, 3, 4, 5, 5, 5, 5)), 0);
    const s = Math.sqrt(1.25);
    expectClose(y.data.subarray(0, 4), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], { atol: 1e-7 });
    expect(y.data[4]).toBeNaN(); // constant row with eps = 0: 0/0, as in torch
    expect([...layerNorm(new Tensor([4], Float32Array.of(5, 5, 5, 5)), 1e-6).data]).toEqual([0, 0, 0, 0]);
    // eps enters under the root: [1,3] has variance 1 → (x − 2)/√2 with eps = 1
    expectClose(layerNorm(new Tensor([2], Float32Array.of(1, 3)), 1).data, [-Math.SQRT1_2, Math.SQRT1_2], {
      atol: 1e-7,
    });
  });

  it('matches a float64 reference on random ragged rows', () => {
    const rng = new Rng(40);
    for (const shape of [
      [1, 1],
      [3, 7],
      [2, 5, 33],
      [4, 1024],
    ]) {
      const x = randTensor(rng, shape, 3);
      expectClose(layerNorm(x, 1e-6).data, naiveLayerNorm(x, 1e-6), { atol: 2e-6, rtol: 1e-6 }, `[${shape}]`);
    }
  });

  it('keeps float64 statistics: a large common offset does not destroy a small spread', () => {
    const rng = new Rng(41);
    const x = new Tensor(
      [3, 1024],
      Float32Array.from(rng.normalArray(3 * 1024, 0.01), (v) => 1000 + v),
    );
    expectClose(layerNorm(x, 1e-6).data, naiveLayerNorm(x, 1e-6), { atol: 2e-5 });
  });

  it('rejects a scalar', () => {
    expect(() => layerNorm(new Tensor([]), 1e-6)).toThrow(ShapeError);
  });
});

describe('groupNorm', () => {
  it('takes statistics per (batch, contiguous channel group), then applies weight and bias (by hand)', () => {
    // (1,4,1,2), 2 groups: group 0 = channels 0,1 = {1,3,5,7} (mean 4, var 5); group 1 = channels 2,3 = {0,0,2,−2} (mean 0, var 2)
    const x = new Tensor([1, 4, 1, 2], Float32Array.of(1, 3, 5, 7, 0, 0, 2, -2));
    const w = new Tensor([4], Float32Array.of(1, 2, 1, 0.5));
    const b = new Tensor([4], Float32Array.of(0, 1, -1, 0));
    const y = groupNorm(x, 2, w, b, 0);
    const r5 = Math.sqrt(5);
    const r2 = Math.sqrt(2);
    expectClose(
      y.data,
      [-3 / r5, -1 / r5, (1 / r5) * 2 + 1, (3 / r5) * 2 + 1, -1, -1, (2 / r2) * 0.5, (-2 / r2) * 0.5],
      { atol: 1e-6 },
    );
  });

  it('matches a float64 reference (several groupings, batches, odd H/W)', () => {
    const rng = new Rng(42);
    for (const [shape, G] of [
      [[2, 6, 5, 3], 3],
      [[1, 8, 7, 7], 8],
      [[3, 4, 2, 9], 1],
      [[1, 64, 4, 4], 32],
    ] as const) {
      const x = randTensor(rng, shape, 2);
      for (let i = 0; i < x.data.length; i++) x.data[i] += 5; // non-zero mean
      const w = randTensor(rng, [shape[1]]);
      const b = randTensor(rng, [shape[1]]);
      expectClose(
        groupNorm(x, G, w, b, 1e-6).data,
        naiveGroupNorm(x, G, w, b, 1e-6),
        { atol: 5e-6, rtol: 1e-6 },
        `[${shape}] G=${G}`,
      );
    }
  });

  it('keeps float64 statistics: a large common offset does not destroy a small spread', () => {
    const rng = new Rng(44);
    const x = new Tensor(
      [1, 4, 32, 32],
      Float32Array.from(rng.normalArray(4 * 1024, 0.01), (v) => 1000 + v),
    );
    const w = new Tensor([4], Float32Array.of(1, 1, 1, 1));
    const b = new Tensor([4]);
    expectClose(groupNorm(x, 2, w, b, 1e-6).data, naiveGroupNorm(x, 2, w, b, 1e-6), { atol: 2e-5 });
  });

  it('rejects bad shapes', () => {
    const w = new Tensor([6]);
    expect(() => groupNorm(new Tensor([1, 6, 2, 2]), 4, w, w, 1e-6)).toThrow(ShapeError);
    expect(() => groupNorm(new Tensor([1, 6, 2, 2]), 4, w, w, 1e-6)).toThrow(/do not split into 4 groups/);
    expect(() => groupNorm(new Tensor([6, 2, 2]), 3, w, w, 1e-6)).toThrow(ShapeError);
    expect(() => groupNorm(new Tensor([1, 6, 2, 2]), 3, new Tensor([5]), w, 1e-6)).toThrow(
      /weight must have shape \[6\]/,
    );
    expect(() => groupNorm(new Tensor([1, 6, 2, 2]), 3, w, new Tensor([6, 1]), 1e-6)).toThrow(
      /bias must have shape \[6\]/,
    );
    expect(() => groupNorm(new Tensor([1, 6, 2, 2]), 0, w, w, 1e-6)).toThrow(RangeError);
  });
});

describe('l2Normalize', () => {
  it('divides by max(‖x‖, eps) along the last dim (by hand)', () => {
    expectClose(l2Normalize(new Tensor([2, 2], Float32Array.of(3, 4, 0, -2))).data, [0.6, 0.8, 0, -1], { atol: 1e-7 });
    expect([...l2Normalize(new Tensor([2], new Float32Array(2))).data]).toEqual([0, 0]); // no NaN for a zero row
    expectClose(l2Normalize(new Tensor([2], Float32Array.of(1e-13, 0))).data, [0.1, 0], { rtol: 1e-6 }); // eps = 1e-12 wins
    expectClose(l2Normalize(new Tensor([2], Float32Array.of(3, 4)), 10).data, [0.3, 0.4], { atol: 1e-7 });
  });

  it('matches a float64 reference on random rows', () => {
    const rng = new Rng(43);
    const x = randTensor(rng, [3, 5, 7]);
    const ref = new Float64Array(x.data.length);
    for (let o = 0; o < ref.length; o += 7) {
      const norm = Math.hypot(...x.data.subarray(o, o + 7));
      for (let i = 0; i < 7; i++) ref[o + i] = x.data[o + i] / Math.max(norm, 1e-12);
    }
    const y = l2Normalize(x);
    expect(y.shape).toEqual([3, 5, 7]);
    expectClose(y.data, ref, { atol: 1e-7, rtol: 1e-6 });
  });
});
