/**
 * Exact attention in WebAssembly SIMD (assembly/attention.ts): flash-style, key blocks with an online softmax, so the
 * memory is the inputs plus a few tens of KB per thread, never rows × keys. Query rows are grouped into segments that
 * see the same keys (a block-causal mask is one segment per scale; an unmasked call, one), split into tasks of at
 * most TASK_ROWS rows, and spread over the worker pool when the call is large enough. Each output row is computed by
 * one task in a fixed order, so the result is bitwise the same for any number of threads.
 */
import { align64, CALL_BASE, MAX_SEGMENTS, Slot, WasmRuntime, type RuntimeOptions } from '@nextscale/wasm-runtime';
import { KIND_ATTN, runAttentionJob } from './job.js';
import { attentionKernels, type AttentionExports } from './modules.js';

/** Query rows [start, end) attend to keys [0, keys). */
export interface QuerySegment {
  start: number;
  end: number;
  keys: number;
}

/** Where the slices of one call live: slice s of Q/out starts at off + s·Lq·d, of K/V at kvOff + s·kvStride. */
export interface WasmAttentionCall {
  q: Float32Array;
  qOff: number;
  k: Float32Array;
  v: Float32Array;
  kvOff: number;
  /** Floats from one slice's keys to the next (≥ keys·d: a KV cache may hold spare rows). */
  kvStride: number;
  out: Float32Array;
  outOff: number;
  slices: number;
  Lq: number;
  d: number;
  scale: number;
  /** Disjoint, covering [0, Lq); every `keys` ≥ 1. */
  segments: readonly QuerySegment[];
}

export interface WasmAttentionOptions extends RuntimeOptions {
  /** Calls under this many query·key·d products stay on the calling thread (default 2²¹). */
  parallelThreshold?: number;
  /** Floats of Q, K, V and out per job before the slices are split over several jobs (default 2²² = 16 MiB). */
  chunkFloats?: number;
}

export interface WasmAttention {
  readonly threads: number;
  attend(call: WasmAttentionCall): void;
  /** Bytes of WebAssembly memory in use (it grows to the largest job and stays). */
  memoryBytes(): number;
  tasksPerThread(): number[];
  ready(): Promise<void>;
  dispose(): Promise<void>;
}

const TASK_ROWS = 64;

export function createWasmAttention(options: WasmAttentionOptions = {}): WasmAttention {
  const rt = new WasmRuntime<AttentionExports>({ modules: attentionKernels, runJob: runAttentionJob }, options);
  const { heap, ex, threads } = rt;
  const threshold = options.parallelThreshold ?? 2 ** 21;
  const chunkFloats = Math.max(1, options.chunkFloats ?? 1 << 22);

  function attend(x: WasmAttentionCall): void {
    const { slices, Lq, d } = x;
    if (slices === 0 || Lq === 0) return;
    const d8 = Math.ceil(d / 8) * 8;
    let nk = 0;
    const tasks: number[] = [];
    let pairs = 0;
    for (const s of x.segments) {
      nk = Math.max(nk, s.keys);
      for (let i0 = s.start; i0 < s.end; i0 += TASK_ROWS) {
        tasks.push(i0, Math.min(s.end, i0 + TASK_ROWS), s.keys);
        pairs += (Math.min(s.end, i0 + TASK_ROWS) - i0) * s.keys;
      }
    }
    const segs = tasks.length / 3;
    if (segs > MAX_SEGMENTS) throw new RangeError(`wasm attention: ${segs} query segments, over ${MAX_SEGMENTS}`);
    const perSlice = (2 * Lq + 2 * nk) * d8;
    const sliceChunk = Math.max(1, Math.floor(chunkFloats / perSlice));
    const scratchBytes = align64(ex.attnScratchBytes(d8));
    const parallel = pairs * d * Math.min(slices, sliceChunk) >= threshold;
    for (let s0 = 0; s0 < slices; s0 += sliceChunk) {
      const ns = Math.min(sliceChunk, slices - s0);
      const qAt = CALL_BASE;
      const kAt = align64(qAt + ns * Lq * d8 * 4);
      const vAt = align64(kAt + ns * nk * d8 * 4);
      const oAt = align64(vAt + ns * nk * d8 * 4);
      const sAt = align64(oAt + ns * Lq * d8 * 4);
      heap.ensure(sAt + threads * scratchBytes);
      const mem = heap.f32;
      for (let s = 0; s < ns; s++) {
        const g = s0 + s;
        copyRows(mem, (qAt >> 2) + s * Lq * d8, d8, x.q, x.qOff + g * Lq * d, d, Lq);
        copyRows(mem, (kAt >> 2) + s * nk * d8, d8, x.k, x.kvOff + g * x.kvStride, d, nk);
        copyRows(mem, (vAt >> 2) + s * nk * d8, d8, x.v, x.kvOff + g * x.kvStride, d, nk);
      }
      const ctl = heap.control;
      ctl[Slot.Kind] = KIND_ATTN;
      ctl[Slot.A] = qAt;
      ctl[Slot.B] = kAt;
      ctl[Slot.P] = vAt;
      ctl[Slot.C] = oAt;
      ctl[Slot.M] = Lq;
      ctl[Slot.N] = nk;
      ctl[Slot.Lda] = d8;
      ctl[Slot.Width] = segs;
      ctl[Slot.Tasks1] = segs * ns;
      ctl[Slot.Scratch] = sAt;
      ctl[Slot.ScratchBytes] = scratchBytes;
      new Float64Array(ctl.buffer, ctl.byteOffset + Slot.ScaleF64 * 4, 1)[0] = x.scale;
      ctl.set(tasks, Slot.SegTable);
      rt.resetCounters();
      rt.run(parallel);
      const out = heap.f32;
      for (let s = 0; s < ns; s++) {
        const src = (oAt >> 2) + s * Lq * d8;
        const dst = x.outOff + (s0 + s) * Lq * d;
        if (d8 === d) x.out.set(out.subarray(src, src + Lq * d), dst);
        else for (let i = 0; i < Lq; i++) x.out.set(out.subarray(src + i * d8, src + i * d8 + d), dst + i * d);
      }
    }
  }

  return {
    threads,
    attend,
    memoryBytes: () => heap.memory.buffer.byteLength,
    tasksPerThread: () => rt.tasksPerThread(),
    ready: () => rt.ready(),
    dispose: () => rt.dispose(),
  };
}

/** Copies `rows` rows of d floats into the memory with row stride d8, zeroing the padding columns. */
function copyRows(
  mem: Float32Array,
  at: number,
  d8: number,
  src: Float32Array,
  off: number,
  d: number,
  rows: number,
): void {
  if (d8 === d) {
    mem.set(src.subarray(off, off + rows * d), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    mem.set(src.subarray(off + r * d, off + r * d + d), at + r * d8);
    mem.fill(0, at + r * d8 + d, at + (r + 1) * d8);
  }
}
