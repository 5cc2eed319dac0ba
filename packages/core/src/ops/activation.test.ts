import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { geluTanh, silu } from './activation.js';
import { expectClose, randTensor } from './ops.test-support.js';

const refSilu = (x: number) => x / (1 + Math.exp(-x));
const refGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

describe('silu', () => {
  it('known values, and finite at the extremes', () => {
    const y = silu(new Tensor([5], Float32Array.of(0, 1, -1, 200, -200)));
    expectClose(y.data, [0, 0.7310585786, -0.2689414214, 200, 0], { atol: 1e-7 });
    expect([...y.data].every(Number.isFinite)).toBe(true);
  });

  it('matches x·σ(x) in float64 and keeps the shape', () => {
    const x = randTensor(new Rng(60), [3, 4, 5], 4);
    const y = silu(x);
    expect(y.shape).toEqual([3, 4, 5]);
    expectClose(y.data, Array.from(x.data, refSilu), { atol: 1e-7, rtol: 1e-6 });
  });
});

describe('geluTanh', () => {
  it('known values of the tanh approximation', () => {
    // torch.nn.functional.gelu(torch.tensor([0, 1, -1, 3, 10, -10]), approximate='tanh')
    const y = geluTanh(new Tensor([6], Float32Array.of(0, 1, -1, 3, 10, -10)));
    expectClose(y.data, [0, 0.8411920071, -0.1588079929, 2.9963626862, 10, 0], { atol: 1e-7 });
    // differs from the erf GELU (0.8413447461 at 1)
    expect(Math.abs(y.data[1] - 0.8413447461)).toBeGreaterThan(1e-4);
  });

  it('matches the formula in float64', () => {
    const x = randTensor(new Rng(61), [7, 9], 3);
    expectClose(geluTanh(x).data, Array.from(x.data, refGelu), { atol: 1e-7, rtol: 1e-6 });
  });
});
