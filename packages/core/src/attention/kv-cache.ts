/**
 * The host-side key/value cache behind an incremental attention state. Layout (B·H, capacity, d): each
 * (batch, head) slice keeps its keys contiguous as scales are appended, so kernels read slice `bh` at
 * offset `bh · stride` with no copy. With options.maxLength the cache reserves that many rows at once; without it the
 * capacity doubles, so appending a whole pyramid copies O(L) values.
 */
import { InputError } from '../errors.js';
import type { Tensor, TensorLike } from '../tensor.js';
import type { AttentionStateOptions } from './contract.js';
import { validateStateInput } from './validate.js';

export class KVCache {
  keys: Float32Array;
  values: Float32Array;
  /** Rows reserved per slice. */
  capacity: number;
  /** Rows filled per slice. */
  length = 0;
  private readonly slices: number;

  constructor(
    readonly options: AttentionStateOptions,
    initialCapacity = 64,
  ) {
    this.slices = options.batch * options.heads;
    // the whole generation's keys at once when the caller says how many: one buffer, nothing outgrown and left behind
    // (pages the later scales have not written yet take no memory)
    this.capacity = options.maxLength ?? initialCapacity;
    this.keys = new Float32Array(this.slices * this.capacity * options.headDim);
    this.values = new Float32Array(this.keys.length);
  }

  /** Floats between the starts of two consecutive slices. */
  get stride(): number {
    return this.capacity * this.options.headDim;
  }

  /** Validates one scale's k and v against the state's (B, H, ·, d) and appends them. */
  append(k: TensorLike, v: TensorLike): { K: Tensor; V: Tensor; n: number } {
    const K = validateStateInput(k, 'k', this.options);
    const V = validateStateInput(v, 'v', this.options);
    if (K.shape.join() !== V.shape.join())
      throw new InputError(`v shape [${V.shape.join(', ')}] must equal k shape [${K.shape.join(', ')}]`);
    const n = K.shape[2];
    const d = this.options.headDim;
    this.reserve(this.length + n);
    for (let bh = 0; bh < this.slices; bh++) {
      const dst = bh * this.stride + this.length * d;
      this.keys.set(K.data.subarray(bh * n * d, (bh + 1) * n * d), dst);
      this.values.set(V.data.subarray(bh * n * d, (bh + 1) * n * d), dst);
    }
    this.length += n;
    return { K, V, n };
  }

  /** Validates a scale's queries and checks there is something to attend to. */
  queries(q: TensorLike): Tensor {
    const Q = validateStateInput(q, 'q', this.options);
    if (this.length === 0) throw new InputError('attend() before any append(): the state holds no keys yet');
    return Q;
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    let cap = Math.max(1, this.capacity);
    while (cap < needed) cap *= 2;
    const d = this.options.headDim;
    const keys = new Float32Array(this.slices * cap * d);
    const values = new Float32Array(keys.length);
    for (let bh = 0; bh < this.slices; bh++) {
      const from = bh * this.stride;
      keys.set(this.keys.subarray(from, from + this.length * d), bh * cap * d);
      values.set(this.values.subarray(from, from + this.length * d), bh * cap * d);
    }
    this.keys = keys;
    this.values = values;
    this.capacity = cap;
  }

  clear(): void {
    this.keys = this.values = new Float32Array(0);
    this.capacity = this.length = 0;
  }
}
