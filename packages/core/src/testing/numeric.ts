/** Numeric test helpers: core's ops tests and the engine packages' kernel tests (exported from `@nextscale/core/testing`). */
import { expect } from 'vitest';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';

export function randTensor(rng: Rng, shape: readonly number[], std = 1): Tensor {
  return new Tensor(
    shape,
    rng.normalArray(
      shape.reduce((a, b) => a * b, 1),
      std,
    ),
  );
}

/**
 * Asserts |actual[i] − expected[i]| ≤ atol + rtol·|expected[i]| for every i (and equal lengths); on failure the message
 * names the worst element.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 0, rtol = 0 }: { atol?: number; rtol?: number },
  label = '',
): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${label} element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`,
    );
  }
}
