/**
 * Input checks every backend runs before computing, so that all of them reject bad input with the
 * same clear message.
 */
import { InputError } from '../errors.js';
import { asTensor, type Tensor, type TensorLike } from '../tensor.js';
import type { AttendSpec, AttentionMask, AttentionStateOptions } from './contract.js';

export interface AttendInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  d: number;
  mask: AttentionMask;
}

function rank4(t: TensorLike, name: string): Tensor {
  const x = asTensor(t, name);
  if (x.shape.length !== 4) throw new InputError(`${name} must have shape (B, H, L, d), got [${x.shape.join(', ')}]`);
  return x;
}

export function assertFinite(t: TensorLike, name: string): void {
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new InputError(`${name} contains ${data[i]} at flat index ${i}; attention inputs must be finite`);
    }
  }
}

export function validateAttend(q: TensorLike, k: TensorLike, v: TensorLike, spec: AttendSpec): AttendInputs {
  const Q = rank4(q, 'q');
  const K = rank4(k, 'k');
  const V = rank4(v, 'v');
  const [B, H, Lq, d] = Q.shape as [number, number, number, number];
  const [Bk, Hk, Lk, dk] = K.shape as [number, number, number, number];
  if (Bk !== B || Hk !== H || dk !== d) {
    throw new InputError(`k shape [${K.shape.join(', ')}] does not match q shape [${Q.shape.join(', ')}] in B, H or d`);
  }
  if (V.shape.join() !== K.shape.join()) {
    throw new InputError(`v shape [${V.shape.join(', ')}] must equal k shape [${K.shape.join(', ')}]`);
  }
  if (Lk === 0) throw new InputError('attention needs at least one key');
  if (!Number.isFinite(spec?.scale)) throw new InputError(`spec.scale must be a finite number, got ${spec?.scale}`);
  const mask = spec.mask ?? { kind: 'none' };
  if (mask.kind === 'block-causal') validateScaleEnds(mask.scaleEnds, Lq, Lk);
  else if (mask.kind !== 'none') throw new InputError(`unknown mask kind "${(mask as { kind: string }).kind}"`);
  assertFinite(Q, 'q');
  assertFinite(K, 'k');
  assertFinite(V, 'v');
  return { q: Q, k: K, v: V, B, H, Lq, Lk, d, mask };
}

function validateScaleEnds(ends: readonly number[], Lq: number, Lk: number): void {
  if (!Array.isArray(ends) || ends.length === 0)
    throw new InputError('block-causal mask needs a non-empty scaleEnds array');
  let prev = 0;
  for (const e of ends) {
    if (!Number.isInteger(e) || e <= prev)
      throw new InputError(`scaleEnds must be strictly increasing positive integers, got [${ends.join(', ')}]`);
    prev = e;
  }
  if (Lq !== Lk || prev !== Lk) {
    throw new InputError(`block-causal mask needs Lq = Lk = last scaleEnd (${prev}), got Lq=${Lq}, Lk=${Lk}`);
  }
}

export function validateStateOptions(o: AttentionStateOptions): void {
  for (const key of ['batch', 'heads', 'headDim'] as const) {
    if (!Number.isInteger(o?.[key]) || o[key] <= 0)
      throw new InputError(`createState: ${key} must be a positive integer, got ${o?.[key]}`);
  }
  if (!Number.isFinite(o.scale)) throw new InputError(`createState: scale must be a finite number, got ${o.scale}`);
}

/** Checks a scale's k/v (or q) against the state's (B, H, ·, d). */
export function validateStateInput(t: TensorLike, name: string, o: AttentionStateOptions): Tensor {
  const x = rank4(t, name);
  const [B, H, , d] = x.shape;
  if (B !== o.batch || H !== o.heads || d !== o.headDim) {
    throw new InputError(
      `${name} shape [${x.shape.join(', ')}] does not match the state's (B=${o.batch}, H=${o.heads}, d=${o.headDim})`,
    );
  }
  assertFinite(x, name);
  return x;
}

/** For query row i of a masked call, the number of keys it sees. */
export function visibleKeys(mask: AttentionMask, Lk: number): (i: number) => number {
  if (mask.kind === 'none') return () => Lk;
  const ends = mask.scaleEnds;
  const endOf = new Int32Array(Lk);
  let s = 0;
  for (let i = 0; i < Lk; i++) {
    while (i >= ends[s]) s++;
    endOf[i] = ends[s];
  }
  return (i) => endOf[i];
}
