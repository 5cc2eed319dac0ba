import {
  ATTENTION_API_VERSION,
  BackendUnavailableError,
  InputError,
  Tensor,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type AttentionStateOptions,
  type TensorLike,
} from '@nextscale/core';
import { KVCache, validateAttend, validateStateOptions, visibleKeys } from '@nextscale/core/attention';
import { GPU } from 'gpu.js';
import { AttentionKernels, type ExecutedOn } from './kernels.js';
import { chooseMode, type GpuMode, type ModeChoice } from './modes.js';

export const VERSION = '0.1.0';

export interface GpuAttentionOptions {
  /** A gpu.js mode to force (software adapters included); default: the best hardware mode. */
  mode?: GpuMode;
}

/**
 * Launches are split so no flat index exceeds 2^20. Shaders index with float32 and their division may be
 * off by a few ulp; the kernels divide at interval midpoints, which stays exact while
 * index · 2^-21 (a few ulp of the quotient, scaled back) is well below 0.5.
 */
const MAX_FLAT = 1 << 20;

/** gpu.js's name for the kernel class each mode runs (both GL modes share its 'gpu' kernels). */
const KERNEL_MODE: Record<GpuMode, string> = {
  webgpu: 'webgpu',
  webgl2: 'gpu',
  headlessgl: 'gpu',
  webasm: 'webasm',
  cpu: 'cpu',
};

export interface GpuAttentionInstance extends AttentionInstance {
  readonly mode: GpuMode;
  readonly choice: ModeChoice;
  /** gpu.js's executor and the mode its kernels ran in on the last call (undefined before the first). */
  readonly executedOn: ExecutedOn | undefined;
}

export async function createGpuAttention(options: GpuAttentionOptions = {}): Promise<GpuAttentionInstance> {
  const choice = await chooseMode(options.mode);
  if (!choice.mode)
    throw new BackendUnavailableError(`@nextscale/backend-gpu: ${choice.reason}`, [
      { id: 'gpu', reason: choice.reason },
    ]);
  const gpu = new GPU({ mode: choice.mode });
  const kernels = new AttentionKernels(gpu);
  let disposed = false;

  /**
   * Runs (BH, Lq, d) × (BH, Lk, d) in launches small enough for float32 indexing: several heads per
   * launch when a head fits, else one head and a block of its queries at a time.
   */
  async function run(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    BH: number,
    Lq: number,
    kvStride: number,
    Lk: number,
    d: number,
    visible: Float32Array,
    scale: number,
  ) {
    if (disposed) throw new InputError('this gpu attention instance was disposed');
    const out = new Float32Array(BH * Lq * d);
    const rowsPer = Math.max(1, Math.floor(MAX_FLAT / Math.max(Lk, d)));
    const headsPer = Math.max(1, Math.floor(rowsPer / Lq));
    const qRows = Math.min(Lq, rowsPer);
    for (let h0 = 0; h0 < BH; h0 += headsPer) {
      const heads = Math.min(headsPer, BH - h0);
      const kk = packKeys(k, h0, heads, kvStride, Lk, d);
      const vv = packKeys(v, h0, heads, kvStride, Lk, d);
      for (let i0 = 0; i0 < Lq; i0 += qRows) {
        // qRows < Lq only when heads = 1, so the block of rows is contiguous in q and out.
        const rows = Math.min(qRows, Lq - i0);
        const from = (h0 * Lq + i0) * d;
        const qBlock = rows === Lq ? q.subarray(h0 * Lq * d, (h0 + heads) * Lq * d) : q.subarray(from, from + rows * d);
        const o = await kernels.attend(
          qBlock,
          kk,
          vv,
          visible.subarray(i0, i0 + rows),
          { heads, Lq: rows, Lk, d },
          scale,
        );
        const ran = kernels.executedOn!;
        if (ran.mode !== KERNEL_MODE[choice.mode!]) {
          // gpu.js degrades a plan it cannot run to its JavaScript kernels with only a console warning.
          const reason = `gpu.js ran the kernels in mode "${ran.mode}" (executor ${ran.executor}) instead of "${choice.mode}"`;
          throw new BackendUnavailableError(`@nextscale/backend-gpu: ${reason}`, [{ id: 'gpu', reason }]);
        }
        out.set(o, from);
      }
    }
    return out;
  }

  return {
    backendId: 'gpu',
    mode: choice.mode,
    choice,
    get executedOn() {
      return kernels.executedOn;
    },
    async attend(q, k, v, spec) {
      const x = validateAttend(q, k, v, spec);
      const seen = visibleKeys(x.mask, x.Lk);
      const visible = Float32Array.from({ length: x.Lq }, (_, i) => seen(i));
      const out = await run(x.q.data, x.k.data, x.v.data, x.B * x.H, x.Lq, x.Lk, x.Lk, x.d, visible, spec.scale);
      return { output: new Tensor([x.B, x.H, x.Lq, x.d], out) };
    },
    createState(o) {
      validateStateOptions(o);
      return new GpuKVState(o, run);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      kernels.dispose();
      await gpu.destroy();
    },
  };
}

/** Copies `heads` slices of Lk rows out of a (BH, stride, d) buffer. */
function packKeys(src: Float32Array, h0: number, heads: number, stride: number, Lk: number, d: number): Float32Array {
  if (stride === Lk) return src.subarray(h0 * Lk * d, (h0 + heads) * Lk * d);
  const out = new Float32Array(heads * Lk * d);
  for (let h = 0; h < heads; h++)
    out.set(src.subarray((h0 + h) * stride * d, ((h0 + h) * stride + Lk) * d), h * Lk * d);
  return out;
}

type Runner = (
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  BH: number,
  Lq: number,
  kvStride: number,
  Lk: number,
  d: number,
  visible: Float32Array,
  scale: number,
) => Promise<Float32Array>;

/** Keeps K/V on the host (core's KVCache) and attends each scale's queries to all of it. */
class GpuKVState implements AttentionState {
  private readonly cache: KVCache;

  constructor(
    o: AttentionStateOptions,
    private readonly run: Runner,
  ) {
    this.cache = new KVCache(o);
  }

  get length(): number {
    return this.cache.length;
  }

  async append(k: TensorLike, v: TensorLike): Promise<void> {
    this.cache.append(k, v);
  }

  async attend(q: TensorLike) {
    const Q = this.cache.queries(q);
    const { batch, heads, headDim: d, scale } = this.cache.options;
    const Lq = Q.shape[2];
    const c = this.cache;
    const visible = new Float32Array(Lq).fill(c.length);
    const out = await this.run(Q.data, c.keys, c.values, batch * heads, Lq, c.capacity, c.length, d, visible, scale);
    return { output: new Tensor([batch, heads, Lq, d], out) };
  }

  dispose(): void {
    this.cache.clear();
  }
}

export const backend: AttentionBackend<GpuAttentionOptions> = {
  kind: 'attention',
  id: 'gpu',
  package: '@nextscale/backend-gpu',
  version: VERSION,
  apiVersion: ATTENTION_API_VERSION,
  exact: true,
  priority: 20,
  capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
  async probe() {
    const choice = await chooseMode();
    // On WebAssembly or gpu.js's JS mode this backend is slower than the cpu backend: rank it below.
    const hardware = choice.mode === 'webgpu' || choice.mode === 'webgl2' || choice.mode === 'headlessgl';
    return {
      available: choice.mode !== null,
      reason: choice.mode ? `gpu.js mode "${choice.mode}": ${choice.reason}` : choice.reason,
      priority: hardware ? 20 : 5,
      details: { mode: choice.mode, adapter: choice.adapter, skipped: choice.skipped },
    };
  },
  create: (options) => createGpuAttention(options),
};
