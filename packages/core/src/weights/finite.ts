/**
 * Weights holding NaN or ±Inf make every image garbage without any error on the way (NaN passes
 * through softmax, sampling and the decoder silently), so models refuse them when they load and name
 * the tensor. One linear pass over the data: `x - x` is 0 for every finite float and NaN otherwise.
 */
import { WeightsError } from '../errors.js';

export interface NonFiniteCount {
  nan: number;
  posInf: number;
  negInf: number;
  /** Index of the first non-finite value. */
  first: number;
}

/** Counts the non-finite values of `data`; undefined when all are finite. */
export function countNonFinite(data: ArrayLike<number>): NonFiniteCount | undefined {
  if (allFinite(data)) return undefined;
  let first = -1;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x === 0) continue;
    if (first < 0) first = i;
    if (x !== x) nan++;
    else if (x > 0) posInf++;
    else negInf++;
  }
  return first < 0 ? undefined : { nan, posInf, negInf, first };
}

/**
 * The common case first, without a branch per value: x·0 is 0 for a finite x and NaN for NaN and ±Inf, so the sums
 * stay 0 exactly when every value is finite. Four independent sums let the loop run ~2.5× faster than the counting
 * loop (a cold d16 load checks ~420 M floats).
 */
function allFinite(data: ArrayLike<number>): boolean {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const n = data.length - (data.length % 4);
  for (let i = 0; i < n; i += 4) {
    a += data[i] * 0;
    b += data[i + 1] * 0;
    c += data[i + 2] * 0;
    d += data[i + 3] * 0;
  }
  for (let i = n; i < data.length; i++) a += data[i] * 0;
  return a + b + c + d === 0;
}

/** "3 NaN, 1 +Inf" */
export function describeNonFinite(c: NonFiniteCount): string {
  const parts: string[] = [];
  if (c.nan) parts.push(`${c.nan} NaN`);
  if (c.posInf) parts.push(`${c.posInf} +Inf`);
  if (c.negInf) parts.push(`${c.negInf} −Inf`);
  return parts.join(', ');
}

export interface FiniteCheckOptions {
  /** Tensors where −Inf is meaningful (an additive attention mask such as VAR's attn_bias_for_masking). */
  negInfAllowed?: (name: string) => boolean;
}

/**
 * Throws a WeightsError naming the first tensor with NaN or ±Inf, how many values and which kinds,
 * and how many tensors are affected in all.
 */
export function assertFiniteWeights(
  tensors: Iterable<readonly [string, { readonly data: ArrayLike<number> }]>,
  file: string,
  options: FiniteCheckOptions = {},
): void {
  let firstBad: { name: string; count: NonFiniteCount; size: number } | undefined;
  let badTensors = 0;
  for (const [name, t] of tensors) {
    let c = countNonFinite(t.data);
    if (c && options.negInfAllowed?.(name) && c.nan === 0 && c.posInf === 0) c = undefined;
    if (!c) continue;
    badTensors++;
    firstBad ??= { name, count: c, size: t.data.length };
  }
  if (!firstBad) return;
  const { name, count, size } = firstBad;
  const n = count.nan + count.posInf + count.negInf;
  const others = badTensors > 1 ? ` (and ${badTensors - 1} more tensor${badTensors > 2 ? 's' : ''})` : '';
  throw new WeightsError(
    file,
    `tensor '${name}' holds ${n} non-finite value${n === 1 ? '' : 's'} of ${size} (${describeNonFinite(count)}; the first at index ${count.first})${others}, ` +
      'so every image would be garbage; get the file again, or re-export the checkpoint from a run that did not diverge',
  );
}
