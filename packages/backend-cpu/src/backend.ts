import {
  ATTENTION_API_VERSION,
  InputError,
  Tensor,
  type TensorLike,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type AttentionStateOptions,
} from '@nextscale/core';
import { KVCache, validateAttend, validateStateOptions } from '@nextscale/core/attention';
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
        q: x.q.data,
        qOff: 0,
        k: x.k.data,
        v: x.v.data,
        kvOff: 0,
        kvStride: x.Lk * x.d,
        out: out.data,
        outOff: 0,
        slices: x.B * x.H,
        Lq: x.Lq,
        d: x.d,
        scale: spec.scale,
        segments: querySegments(x.mask, x.Lq, x.Lk),
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

/** An exact KV cache: each scale's queries attend to every key appended so far. */
class CpuKVState implements AttentionState {
  private readonly cache: KVCache;

  constructor(
    o: AttentionStateOptions,
    private readonly kernel: AttentionKernel,
  ) {
    this.cache = new KVCache(o);
  }

  get length(): number {
    return this.cache.length;
  }

  async append(k: TensorLike, v: TensorLike) {
    this.cache.append(k, v);
  }

  async attend(q: TensorLike) {
    const Q = this.cache.queries(q);
    const { batch, heads, headDim: d, scale } = this.cache.options;
    const Lq = Q.shape[2];
    const out = new Tensor([batch, heads, Lq, d]);
    this.kernel.run({
      q: Q.data,
      qOff: 0,
      k: this.cache.keys,
      v: this.cache.values,
      kvOff: 0,
      kvStride: this.cache.stride,
      out: out.data,
      outOff: 0,
      slices: batch * heads,
      Lq,
      d,
      scale,
      segments: [{ start: 0, end: Lq, keys: this.cache.length }],
    });
    return { output: out };
  }

  dispose(): void {
    this.cache.clear();
  }
}

export const backend: AttentionBackend = {
  kind: 'attention',
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
