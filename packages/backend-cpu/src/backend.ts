import {
  ATTENTION_API_VERSION,
  InputError,
  Tensor,
  type TensorLike,
  validateAttend,
  validateStateInput,
  validateStateOptions,
  visibleKeys,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type AttentionStateOptions,
} from '@nextscale/core';
import { attendSlice } from './kernel.js';

export const VERSION = '0.1.0';

/** Exact CPU attention. It keeps every scale's K/V for the incremental state (a KV cache). */
export function createCpuAttention(): AttentionInstance {
  return {
    backendId: 'cpu',
    async attend(q, k, v, spec) {
      const x = validateAttend(q, k, v, spec);
      const out = new Tensor([x.B, x.H, x.Lq, x.d]);
      const scores = new Float64Array(x.Lk);
      const acc = new Float64Array(x.d);
      const seen = visibleKeys(x.mask, x.Lk);
      for (let bh = 0; bh < x.B * x.H; bh++) {
        attendSlice(x.q.data, bh * x.Lq * x.d, x.k.data, x.v.data, bh * x.Lk * x.d, out.data, x.Lq, x.d, spec.scale, seen, scores, acc);
      }
      return { output: out };
    },
    createState(options) {
      validateStateOptions(options);
      return new CpuKVState(options);
    },
    async dispose() {
      // Nothing is held between calls; states own their buffers.
    },
  };
}

class CpuKVState implements AttentionState {
  private keys: Float32Array;
  private values: Float32Array;
  private capacity = 64;
  length = 0;

  constructor(private readonly o: AttentionStateOptions) {
    this.keys = new Float32Array(o.batch * o.heads * this.capacity * o.headDim);
    this.values = new Float32Array(this.keys.length);
  }

  /** Layout (B·H, capacity, d) so each head's keys stay contiguous as scales are appended. */
  private grow(needed: number): void {
    if (needed <= this.capacity) return;
    let cap = this.capacity;
    while (cap < needed) cap *= 2;
    const { batch, heads, headDim: d } = this.o;
    const nk = new Float32Array(batch * heads * cap * d);
    const nv = new Float32Array(nk.length);
    for (let bh = 0; bh < batch * heads; bh++) {
      nk.set(this.keys.subarray(bh * this.capacity * d, (bh * this.capacity + this.length) * d), bh * cap * d);
      nv.set(this.values.subarray(bh * this.capacity * d, (bh * this.capacity + this.length) * d), bh * cap * d);
    }
    this.keys = nk;
    this.values = nv;
    this.capacity = cap;
  }

  async append(k: TensorLike, v: TensorLike) {
    const K = validateStateInput(k, 'k', this.o);
    const V = validateStateInput(v, 'v', this.o);
    if (K.shape.join() !== V.shape.join()) throw new InputError(`v shape [${V.shape.join(', ')}] must equal k shape [${K.shape.join(', ')}]`);
    const n = K.shape[2]!;
    const d = this.o.headDim;
    this.grow(this.length + n);
    for (let bh = 0; bh < this.o.batch * this.o.heads; bh++) {
      const dst = (bh * this.capacity + this.length) * d;
      this.keys.set(K.data.subarray(bh * n * d, (bh + 1) * n * d), dst);
      this.values.set(V.data.subarray(bh * n * d, (bh + 1) * n * d), dst);
    }
    this.length += n;
  }

  async attend(q: TensorLike) {
    const Q = validateStateInput(q, 'q', this.o);
    if (this.length === 0) throw new InputError('attend() before any append(): the state holds no keys yet');
    const { batch, heads, headDim: d, scale } = this.o;
    const Lq = Q.shape[2]!;
    const out = new Tensor([batch, heads, Lq, d]);
    const scores = new Float64Array(this.length);
    const acc = new Float64Array(d);
    const all = () => this.length;
    for (let bh = 0; bh < batch * heads; bh++) {
      attendSlice(Q.data, bh * Lq * d, this.keys, this.values, bh * this.capacity * d, out.data, Lq, d, scale, all, scores, acc);
    }
    return { output: out };
  }

  dispose(): void {
    this.keys = this.values = new Float32Array(0);
    this.length = 0;
  }
}

export const backend: AttentionBackend = {
  id: 'cpu',
  package: '@nextscale/backend-cpu',
  version: VERSION,
  apiVersion: ATTENTION_API_VERSION,
  exact: true,
  priority: 10,
  capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
  async probe() {
    return { available: true, reason: 'pure JavaScript; runs everywhere' };
  },
  async create() {
    return createCpuAttention();
  },
};
