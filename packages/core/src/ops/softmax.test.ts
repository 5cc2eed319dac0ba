import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { ShapeError, Tensor } from '../tensor.js';
import { softmax } from './softmax.js';
import { expectClose, randTensor } from './ops.test-support.js';

describe('softmax', () => {
  it('normalises over the last dim (by hand)', () => {
    const y = softmax(new Tensor([2, 3], Float32Array.of(1, 2, 3, 0, 0, 0)));
    const z = 1 + Math.exp(-1) + Math.exp(-2);
    expectClose(y.data, [Math.exp(-2) / z, Math.exp(-1) / z, 1 / z, 1 / 3, 1 / 3, 1 / 3], { atol: 1e-7 });
    expectClose(softmax(new Tensor([2], Float32Array.of(0, Math.log(3)))).data, [0.25, 0.75], { atol: 1e-7 });
  });

  it('subtracts the max: huge logits do not overflow', () => {
    const e = Math.E;
    expectClose(softmax(new Tensor([2], Float32Array.of(1000, 1001))).data, [1 / (1 + e), e / (1 + e)], { atol: 1e-7 });
    expectClose(softmax(new Tensor([2], Float32Array.of(-1000, -1001))).data, [e / (1 + e), 1 / (1 + e)], {
      atol: 1e-7,
    });
  });

  it('gives masked (−Infinity) entries exactly 0 and no NaN when a row has a finite entry', () => {
    const y = softmax(new Tensor([4], Float32Array.of(-Infinity, 0, Math.log(3), -Infinity)));
    expect(y.data[0]).toBe(0);
    expect(y.data[3]).toBe(0);
    expectClose(y.data.subarray(1, 3), [0.25, 0.75], { atol: 1e-7 });
    expect([...softmax(new Tensor([3], Float32Array.of(-Infinity, 7, -Infinity))).data]).toEqual([0, 1, 0]);
  });

  it('documents the degenerate rows: all −Infinity, NaN or +Infinity give NaN (like torch)', () => {
    const y = softmax(new Tensor([3, 2], Float32Array.of(-Infinity, -Infinity, 1, NaN, 1, Infinity)));
    expect([...y.data].every(Number.isNaN)).toBe(true);
    // other rows are unaffected
    const z = softmax(new Tensor([2, 2], Float32Array.of(-Infinity, -Infinity, 0, 0)));
    expect([...z.data.subarray(2)]).toEqual([0.5, 0.5]);
  });

  it('matches a float64 reference on random rows with masked entries', () => {
    const rng = new Rng(50);
    const x = randTensor(rng, [4, 7, 33], 4);
    for (let i = 0; i < x.data.length; i++) if (rng.uniform() < 0.3 && i % 33 !== 5) x.data[i] = -Infinity;
    const ref = new Float64Array(x.data.length);
    for (let o = 0; o < ref.length; o += 33) {
      const row = Array.from(x.data.subarray(o, o + 33));
      const m = Math.max(...row);
      const ex = row.map((v) => Math.exp(v - m));
      const s = ex.reduce((a, b) => a + b, 0);
      ex.forEach((v, i) => (ref[o + i] = v / s));
    }
    const y = softmax(x);
    expectClose(y.data, ref, { atol: 1e-8, rtol: 2e-7 });
    for (let o = 0; o < ref.length; o += 33) {
      let s = 0;
      for (let i = 0; i < 33; i++) s += y.data[o + i];
      expect(Math.abs(s - 1)).toBeLessThan(1e-6);
    }
  });

  it('rejects a scalar', () => {
    expect(() => softmax(new Tensor([]))).toThrow(ShapeError);
  });
});
