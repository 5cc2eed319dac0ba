import {
  ATTENTION_API_VERSION,
  InputError,
  Tensor,
  type TensorLike,
  validateAttend,
  validateStateInput,
  validateStateOptions,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type AttentionStateOptions,
} from '@nextscale/core';
import { defaultKernelKind, jsKernel, wasmKernel, type AttentionKernel, type KernelKind } from './kernels.js';
import { querySegments } from './segments.js';

export const VERSION = '0.1.0';

export interface CpuAttentionOptions {
  /** 'wasm' (flash-style WebAssembly SIMD; the default where available) or 'js' (the scalar TypeScript kernel). */
  kernel?: KernelKind;
  /** Threads for a private wasm kernel (default: the process-wide one, sized to the available cores). */
  threads?: number;
}

export interface CpuAttentionInstance extends AttentionInstance {
  readonly kernel: KernelKind;
  /** Bytes the kernel holds beyond the tensors (the WebAssembly memory; it grows to the largest call and stays). */
  kernelMemoryBytes(): number;
  /** Resolves when the kernel's worker threads take work (they start on the first large call otherwise). */
  ready(): Promise<void>;
}

/** Exact CPU attention. It keeps every scale's K/V for the incremental state (a KV cache). */
export function createCpuAttention(options: CpuAttentionOptions = {}): CpuAttentionInstance {
  const kind = options.kernel ?? defaultKernelKind();
  if (kind !== 'wasm' && kind !== 'js') throw new InputError(`kernel must be 'wasm' or 'js', got ${String(kind)}`);
  const kernel: AttentionKernel = kind === 'wasm' ? wasmKernel(options.threads) : jsKernel;
  return {
    backendId: 'cpu',
    kernel: kind,
    kernelMemoryBytes: () => kernel.memoryBytes(),
    ready: () => kernel.ready(),
    async attend(q, k, v, spec) {
      const x = validateAttend(q, k, v, spec);
      const out = new Tensor([x.B, x.H, x.Lq, x.d]);
      kernel.run({
        q: x.q.data, qOff: 0, k: x.k.data, v: x.v.data, kvOff: 0, kvStride: x.Lk * x.d, out: out.data, outOff: 0,
        slices: x.B * x.H, Lq: x.Lq, d: x.d, scale: spec.scale, segments: querySegments(x.mask, x.Lq, x.Lk),
      });
      return { output: out };
    },
    createState(stateOptions) {
      validateStateOptions(stateOptions);
      return new CpuKVState(stateOptions, kernel);
    },
    async dispose() {
      // States own their buffers; a private wasm kernel stops its workers (the shared one lives with the process).
      await kernel.dispose();
    },
  };
}

class CpuKVState implements AttentionState {
  private keys: Float32Array;
  private values: Float32Array;
  private capacity = 64;
  length = 0;

  constructor(
    private readonly o: AttentionStateOptions,
    private readonly kernel: AttentionKernel,
  ) {
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
    this.kernel.run({
      q: Q.data, qOff: 0, k: this.keys, v: this.values, kvOff: 0, kvStride: this.capacity * d, out: out.data, outOff: 0,
      slices: batch * heads, Lq, d, scale, segments: [{ start: 0, end: Lq, keys: this.length }],
    });
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
    return defaultKernelKind() === 'wasm'
      ? { available: true, reason: 'WebAssembly SIMD (flash-style, float64 softmax); runs everywhere' }
      : { available: true, reason: 'pure JavaScript; runs everywhere' };
  },
  async create(options) {
    return createCpuAttention(options as CpuAttentionOptions | undefined);
  },
};
