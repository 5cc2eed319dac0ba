import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { ShapeError, Tensor } from '../tensor.js';
import { conv2d } from './conv2d.js';
import { matmul } from './matmul.js';
import { expectClose, randTensor } from './ops.test-support.js';

type Pad = [number, number, number, number];

/** Straight from the definition: y[b,o,i,j] = bias[o] + Σ_{c,u,v} W[o,c,u,v]·x_pad[b,c,i·s+u,j·s+v], float64. */
function naiveConv(x: Tensor, w: Tensor, bias: Tensor | null, s: number, [pt, pb, pl, pr]: Pad) {
  const [B, Ci, H, W] = x.shape as [number, number, number, number];
  const [Co, , kh, kw] = w.shape as [number, number, number, number];
  const Ho = Math.floor((H + pt + pb - kh) / s) + 1;
  const Wo = Math.floor((W + pl + pr - kw) / s) + 1;
  const xpad = (b: number, c: number, r: number, q: number) => {
    const ir = r - pt;
    const iq = q - pl;
    return ir < 0 || ir >= H || iq < 0 || iq >= W ? 0 : x.data[((b * Ci + c) * H + ir) * W + iq];
  };
  const y = new Float64Array(B * Co * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < Co; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let acc = bias ? bias.data[o] : 0;
          for (let c = 0; c < Ci; c++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                acc += w.data[((o * Ci + c) * kh + u) * kw + v] * xpad(b, c, i * s + u, j * s + v);
              }
          y[((b * Co + o) * Ho + i) * Wo + j] = acc;
        }
  return { y, shape: [B, Co, Ho, Wo] };
}

const iota = (n: number, from = 1) => Float32Array.from({ length: n }, (_, i) => i + from);

describe('conv2d', () => {
  it('Downsample2x style: pad right/bottom by 1, 3×3, stride 2 (by hand)', () => {
    const x = new Tensor([1, 1, 4, 4], iota(16)); // x[i][j] = 4i + j + 1
    const ones = new Tensor([1, 1, 3, 3], new Float32Array(9).fill(1));
    const y = conv2d(x, ones, new Tensor([1], Float32Array.of(0.5)), { stride: 2, padding: [0, 1, 0, 1] });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect([...y.data]).toEqual([54.5, 45.5, 72.5, 54.5]);
    // symmetric padding 1 would read the top/left border instead
    expect([...conv2d(x, ones, null, { stride: 2, padding: 1 }).data]).toEqual([14, 30, 57, 99]);
  });

  it('is a cross-correlation (the kernel is not flipped)', () => {
    const x = new Tensor([1, 1, 4, 4], iota(16));
    const top = new Tensor([1, 1, 3, 3], Float32Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0)); // W[0,0,0,1] = 1
    expect([...conv2d(x, top, null, { stride: 2, padding: [0, 1, 0, 1] }).data]).toEqual([2, 4, 10, 12]);
    // 3×3 pad 1 stride 1 with a "right neighbour" kernel shifts left, zero at the right border
    const right = new Tensor([1, 1, 3, 3], Float32Array.of(0, 0, 0, 0, 0, 1, 0, 0, 0));
    expect([...conv2d(x, right, null, { padding: 1 }).data]).toEqual([
      2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0,
    ]);
  });

  it('sums over input channels and adds the bias per output channel (by hand)', () => {
    const x = new Tensor([1, 2, 1, 2], Float32Array.of(1, 2, 10, 20)); // channel 0: [1,2], channel 1: [10,20]
    const w = new Tensor([2, 2, 1, 1], Float32Array.of(1, 1, 2, -1)); // o0 = c0 + c1, o1 = 2c0 − c1
    const y = conv2d(x, w, new Tensor([2], Float32Array.of(100, 0)));
    expect([...y.data]).toEqual([111, 122, -8, -16]);
  });

  it('matches the float64 definition on ragged sizes, strides and paddings', () => {
    const rng = new Rng(30);
    const cases: { x: number[]; w: number[]; s: number; pad: number | Pad; bias: boolean }[] = [
      { x: [2, 3, 7, 5], w: [5, 3, 3, 3], s: 1, pad: 1, bias: true },
      { x: [1, 5, 8, 9], w: [6, 5, 3, 3], s: 2, pad: [0, 1, 0, 1], bias: true },
      { x: [1, 5, 7, 7], w: [3, 5, 3, 3], s: 2, pad: [0, 1, 0, 1], bias: false },
      { x: [2, 7, 6, 6], w: [3, 7, 1, 1], s: 1, pad: 0, bias: true },
      { x: [1, 2, 9, 7], w: [4, 2, 2, 3], s: 3, pad: [2, 0, 1, 3], bias: true },
      { x: [3, 1, 5, 4], w: [2, 1, 5, 4], s: 1, pad: 0, bias: false }, // kernel = whole image
      { x: [1, 6, 3, 3], w: [9, 6, 3, 3], s: 1, pad: 2, bias: true }, // padding larger than the kernel reach
    ];
    for (const c of cases) {
      const x = randTensor(rng, c.x);
      const w = randTensor(rng, c.w, 0.3);
      const b = c.bias ? randTensor(rng, [c.w[0]]) : null;
      const pad: Pad = typeof c.pad === 'number' ? [c.pad, c.pad, c.pad, c.pad] : c.pad;
      const ref = naiveConv(x, w, b, c.s, pad);
      const y = conv2d(x, w, b, { stride: c.s, padding: c.pad });
      expect(y.shape, JSON.stringify(c)).toEqual(ref.shape);
      expectClose(y.data, ref.y, { atol: 1e-5, rtol: 1e-5 }, JSON.stringify(c));
    }
  });

  it('stays correct when the output is processed in several row chunks (and batches)', () => {
    const rng = new Rng(31);
    const x = randTensor(rng, [2, 64, 48, 48]); // K·Wo = 576·48 > 2^20 / 48: chunks of 37 output rows
    const w = randTensor(rng, [5, 64, 3, 3], 0.05);
    const b = randTensor(rng, [5]);
    const ref = naiveConv(x, w, b, 1, [1, 1, 1, 1]);
    expectClose(conv2d(x, w, b, { padding: 1 }).data, ref.y, { atol: 1e-5, rtol: 1e-5 });
  });

  it('a 1×1 convolution is the matmul W·X', () => {
    const rng = new Rng(32);
    const x = randTensor(rng, [1, 6, 5, 3]);
    const w = randTensor(rng, [4, 6, 1, 1]);
    const y = conv2d(x, w, null);
    const viaMatmul = matmul(w.reshape([4, 6]), x.reshape([6, 15]));
    expectClose(y.data, viaMatmul.data, { atol: 1e-6, rtol: 1e-6 });
  });

  it('rejects bad shapes and options with clear errors', () => {
    const x = new Tensor([1, 3, 4, 4]);
    expect(() => conv2d(x, new Tensor([2, 4, 3, 3]), null)).toThrow(ShapeError);
    expect(() => conv2d(x, new Tensor([2, 4, 3, 3]), null)).toThrow(/3 channels but weight/);
    expect(() => conv2d(x, new Tensor([2, 3, 5, 5]), null)).toThrow(/smaller than the 5×5 kernel/);
    expect(() => conv2d(new Tensor([3, 4, 4]), new Tensor([2, 3, 3, 3]), null)).toThrow(ShapeError);
    expect(() => conv2d(x, new Tensor([2, 3, 3, 3]), new Tensor([3]))).toThrow(/bias must have shape \[2\]/);
    expect(() => conv2d(x, new Tensor([2, 3, 3, 3]), null, { stride: 0 })).toThrow(RangeError);
    expect(() => conv2d(x, new Tensor([2, 3, 3, 3]), null, { padding: -1 })).toThrow(RangeError);
    expect(() => conv2d(x, new Tensor([2, 3, 3, 3]), null, { padding: [1, 1] as unknown as Pad })).toThrow(RangeError);
  });
});
