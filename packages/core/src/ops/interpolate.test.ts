import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { ShapeError, Tensor } from '../tensor.js';
import { interpolateArea, interpolateBicubic, upsampleNearest2x } from './interpolate.js';
import { expectClose, randTensor } from './ops.test-support.js';

const iota = (n: number, from = 1) => Float32Array.from({ length: n }, (_, i) => i + from);

/** Area straight from the spec: the 2-D mean over the window rectangle, float64. */
function naiveArea(x: Tensor, oh: number, ow: number): Float64Array {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const y = new Float64Array(B * C * oh * ow);
  for (let p = 0; p < B * C; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const r0 = Math.floor((i * H) / oh);
        const r1 = Math.ceil(((i + 1) * H) / oh);
        const c0 = Math.floor((j * W) / ow);
        const c1 = Math.ceil(((j + 1) * W) / ow);
        let s = 0;
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) s += x.data[(p * H + r) * W + c];
        y[(p * oh + i) * ow + j] = s / ((r1 - r0) * (c1 - c0));
      }
  return y;
}

/** Bicubic straight from the spec (float64 throughout, 16 taps per output, no separability). */
const A = -0.75;
const c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
const c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
function cubicAxis(n: number, o: number, dst: number): { idx: number[]; w: number[] } {
  const src = (dst + 0.5) * (n / o) - 0.5;
  const x0 = Math.floor(src);
  const t = src - x0;
  return {
    idx: [x0 - 1, x0, x0 + 1, x0 + 2].map((i) => Math.min(Math.max(i, 0), n - 1)),
    w: [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)],
  };
}
function naiveBicubic(x: Tensor, oh: number, ow: number): Float64Array {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const y = new Float64Array(B * C * oh * ow);
  for (let p = 0; p < B * C; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const ry = cubicAxis(H, oh, i);
        const rx = cubicAxis(W, ow, j);
        let s = 0;
        for (let u = 0; u < 4; u++)
          for (let v = 0; v < 4; v++) s += ry.w[u] * rx.w[v] * x.data[(p * H + ry.idx[u]) * W + rx.idx[v]]!;
        y[(p * oh + i) * ow + j] = s;
      }
  return y;
}

describe('upsampleNearest2x', () => {
  it('repeats every pixel 2×2 (by hand)', () => {
    const y = upsampleNearest2x(new Tensor([1, 1, 2, 3], iota(6)));
    expect(y.shape).toEqual([1, 1, 4, 6]);
    expect([...y.data]).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6]);
  });

  it('out[i,j] = in[i//2, j//2] for every batch and channel', () => {
    const x = randTensor(new Rng(70), [2, 3, 3, 5]);
    const y = upsampleNearest2x(x);
    expect(y.shape).toEqual([2, 3, 6, 10]);
    for (let p = 0; p < 6; p++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 10; j++) {
          expect(y.data[(p * 6 + i) * 10 + j]).toBe(x.data[(p * 3 + (i >> 1)) * 5 + (j >> 1)]);
        }
  });

  it('rejects a non-4-D input', () => {
    expect(() => upsampleNearest2x(new Tensor([3, 2, 2]))).toThrow(ShapeError);
  });
});

describe('interpolateArea', () => {
  it('4 → 3 uses the overlapping windows [0,1], [1,2], [2,3] (by hand, both axes)', () => {
    expectClose(interpolateArea(new Tensor([1, 1, 1, 4], iota(4)), 1, 3).data, [1.5, 2.5, 3.5], { atol: 1e-7 });
    expectClose(interpolateArea(new Tensor([1, 1, 4, 1], iota(4)), 3, 1).data, [1.5, 2.5, 3.5], { atol: 1e-7 });
    // 4×4 (x = 4i + j + 1) → 3×3: mean of the 2×2 block at (i, j) = 4i + j + 3.5
    const y = interpolateArea(new Tensor([1, 1, 4, 4], iota(16)), 3, 3);
    expectClose(y.data, [3.5, 4.5, 5.5, 7.5, 8.5, 9.5, 11.5, 12.5, 13.5], { atol: 1e-6 });
  });

  it('windows of unequal size: 5 → 3 is {0,1}, {1,2,3}, {3,4}; 2 → 3 upsamples as [a, (a+b)/2, b]', () => {
    expectClose(
      interpolateArea(new Tensor([1, 1, 1, 5], Float32Array.of(1, 2, 4, 8, 16)), 1, 3).data,
      [1.5, 14 / 3, 12],
      { rtol: 1e-7 },
    );
    expectClose(interpolateArea(new Tensor([1, 1, 1, 2], Float32Array.of(2, 6)), 1, 3).data, [2, 4, 6], { atol: 1e-7 });
    expectClose(interpolateArea(new Tensor([1, 1, 1, 6], iota(6)), 1, 3).data, [1.5, 3.5, 5.5], { atol: 1e-7 });
  });

  it('n → n is the identity; n → 1 is the global mean', () => {
    const x = randTensor(new Rng(71), [2, 3, 5, 7]);
    expect([...interpolateArea(x, 5, 7).data]).toEqual([...x.data]);
    const g = interpolateArea(x, 1, 1);
    const means = Array.from(
      { length: 6 },
      (_, p) => x.data.subarray(p * 35, p * 35 + 35).reduce((a, b) => a + b, 0) / 35,
    );
    expectClose(g.data, means, { atol: 1e-7 });
  });

  it('matches the 2-D window mean on random ragged inputs', () => {
    const rng = new Rng(72);
    for (const [shape, oh, ow] of [
      [[2, 3, 7, 10], 3, 4],
      [[1, 2, 5, 5], 8, 2],
      [[1, 4, 16, 16], 13, 13],
      [[1, 1, 16, 16], 5, 9],
      [[1, 2, 3, 13], 16, 6],
    ] as const) {
      const x = randTensor(rng, shape);
      const y = interpolateArea(x, oh, ow);
      expect(y.shape).toEqual([shape[0], shape[1], oh, ow]);
      expectClose(y.data, naiveArea(x, oh, ow), { atol: 1e-6, rtol: 1e-6 }, `[${shape}] → ${oh}×${ow}`);
    }
  });

  it('rejects bad sizes', () => {
    expect(() => interpolateArea(new Tensor([1, 1, 4, 4]), 0, 2)).toThrow(RangeError);
    expect(() => interpolateArea(new Tensor([1, 1, 4, 4]), 2.5, 2)).toThrow(RangeError);
    expect(() => interpolateArea(new Tensor([1, 4, 4]), 2, 2)).toThrow(ShapeError);
    expect(() => interpolateArea(new Tensor([1, 1, 0, 4]), 2, 2)).toThrow(ShapeError);
  });
});

describe('interpolateBicubic', () => {
  it('a 1×1 input gives a constant map', () => {
    const y = interpolateBicubic(new Tensor([1, 2, 1, 1], Float32Array.of(3.25, -7)), 5, 7);
    expect(y.shape).toEqual([1, 2, 5, 7]);
    expect([...y.data.subarray(0, 35)].every((v) => v === 3.25)).toBe(true);
    expect([...y.data.subarray(35)].every((v) => v === -7)).toBe(true);
  });

  it('2 → 4 by hand: weights from Keys A = −0.75 at t = 0.75 and 0.25, taps clamped to the border', () => {
    // dst 0: src = −0.25 → x0 = −1, t = 0.75, taps (0,0,0,1), w = (c2(1.75), c1(0.75), c1(0.25), c2(1.25))
    //        = (−0.03515625, 0.26171875, 0.87890625, −0.10546875) → out = 1.10546875a − 0.10546875b
    // dst 1: src = 0.25 → x0 = 0, t = 0.25, taps (0,0,1,1), w = (−0.10546875, 0.87890625, 0.26171875, −0.03515625)
    //        → out = 0.7734375a + 0.2265625b; dst 2, 3 mirror these.
    const [a, b] = [1, 3];
    const want = [
      1.10546875 * a - 0.10546875 * b,
      0.7734375 * a + 0.2265625 * b,
      0.2265625 * a + 0.7734375 * b,
      -0.10546875 * a + 1.10546875 * b,
    ];
    expect(want).toEqual([0.7890625, 1.453125, 2.546875, 3.2109375]);
    expectClose(interpolateBicubic(new Tensor([1, 1, 1, 2], Float32Array.of(a, b)), 1, 4).data, want, { atol: 1e-6 });
    expectClose(interpolateBicubic(new Tensor([1, 1, 2, 1], Float32Array.of(a, b)), 4, 1).data, want, { atol: 1e-6 });
    // separable in 2-D: a single 1 at (1,1) gives the outer product of the b-weights, overshooting above 1
    const wb = [-0.10546875, 0.2265625, 0.7734375, 1.10546875];
    const y = interpolateBicubic(new Tensor([1, 1, 2, 2], Float32Array.of(0, 0, 0, 1)), 4, 4);
    expectClose(
      y.data,
      wb.flatMap((u) => wb.map((v) => u * v)),
      { atol: 1e-6 },
    );
    expect(y.data[15]).toBeGreaterThan(1.2); // no value clamping
  });

  it('n → n is the identity', () => {
    const x = randTensor(new Rng(73), [1, 2, 5, 6]);
    expect([...interpolateBicubic(x, 5, 6).data]).toEqual([...x.data]);
  });

  it('matches the formula on a downscale (5 → 3) and an upscale (3 → 8)', () => {
    const rng = new Rng(74);
    const down = randTensor(rng, [2, 3, 5, 5]);
    expectClose(interpolateBicubic(down, 3, 3).data, naiveBicubic(down, 3, 3), { atol: 2e-6, rtol: 1e-6 }, '5→3');
    const up = randTensor(rng, [2, 3, 3, 3]);
    expectClose(interpolateBicubic(up, 8, 8).data, naiveBicubic(up, 8, 8), { atol: 2e-6, rtol: 1e-6 }, '3→8');
  });

  it('matches the formula on ragged, non-square shapes (and VAR-style k → 16)', () => {
    const rng = new Rng(75);
    for (const [shape, oh, ow] of [
      [[2, 2, 5, 3], 3, 8],
      [[1, 3, 7, 2], 16, 5],
      [[1, 4, 2, 2], 16, 16],
      [[1, 2, 13, 13], 16, 16],
      [[1, 1, 10, 16], 6, 16],
    ] as const) {
      const x = randTensor(rng, shape);
      const y = interpolateBicubic(x, oh, ow);
      expect(y.shape).toEqual([shape[0], shape[1], oh, ow]);
      expectClose(y.data, naiveBicubic(x, oh, ow), { atol: 2e-6, rtol: 1e-6 }, `[${shape}] → ${oh}×${ow}`);
    }
  });

  it('overshoots a step (values are not clamped)', () => {
    const y = interpolateBicubic(new Tensor([1, 1, 1, 4], Float32Array.of(0, 0, 1, 1)), 1, 8);
    expect(Math.min(...y.data)).toBeLessThan(0);
    expect(Math.max(...y.data)).toBeGreaterThan(1);
  });

  it('rejects bad sizes', () => {
    expect(() => interpolateBicubic(new Tensor([1, 1, 4, 4]), 3, -1)).toThrow(RangeError);
    expect(() => interpolateBicubic(new Tensor([4, 4]), 3, 3)).toThrow(ShapeError);
  });
});
