/**
 * The two ways this backend computes attention, behind one call shape (WasmAttentionCall: slices of Q/out, K/V
 * with a slice stride, query segments):
 *  - 'wasm': this package's flash-style WebAssembly SIMD kernel (wasm/attention.ts, assembly/attention.ts) (key blocks with an online softmax, float64 logits and
 *    normaliser; memory O(L·d)), split over worker threads in Node;
 *  - 'js': the scalar TypeScript kernel (kernel.ts, float64 throughout), where WebAssembly SIMD is missing or the
 *    `kernel: 'js'` option asks for it. It is also the reference the wasm kernel is compared against.
 */
import { readSettings } from '@nextscale/core';
import { detectWasmFeatures } from '@nextscale/wasm-runtime';
import { createWasmAttention, type WasmAttentionCall, type WasmAttention } from './wasm/attention.js';
import { attendSlice } from './kernel.js';
import { visibleFromSegments } from './segments.js';

export type KernelKind = 'wasm' | 'js';

export interface AttentionKernel {
  readonly kind: KernelKind;
  readonly threads: number;
  run(call: WasmAttentionCall): void;
  /** Bytes the kernel holds beyond the caller's tensors (the wasm memory; 0 for the JS kernel's per-call arrays). */
  memoryBytes(): number;
  /** Resolves when the kernel's worker threads (if any) take work. */
  ready(): Promise<void>;
  dispose(): Promise<void>;
}

export function defaultKernelKind(): KernelKind {
  return detectWasmFeatures().simd ? 'wasm' : 'js';
}

export const jsKernel: AttentionKernel = {
  kind: 'js',
  threads: 1,
  run(x) {
    const seen = visibleFromSegments(x.segments, x.Lq);
    let nk = 0;
    for (const s of x.segments) nk = Math.max(nk, s.keys);
    const scores = new Float64Array(nk);
    const acc = new Float64Array(x.d);
    for (let s = 0; s < x.slices; s++) attendSliceJs(x, s, seen, scores, acc);
  },
  memoryBytes: () => 0,
  ready: async () => {},
  dispose: async () => {},
};

/** attendSlice reads q and writes out at one offset; a call with different offsets goes through a temporary. */
function attendSliceJs(
  x: WasmAttentionCall,
  s: number,
  seen: (i: number) => number,
  scores: Float64Array,
  acc: Float64Array,
): void {
  const qOff = x.qOff + s * x.Lq * x.d;
  const outOff = x.outOff + s * x.Lq * x.d;
  if (qOff === outOff) {
    attendSlice(x.q, qOff, x.k, x.v, x.kvOff + s * x.kvStride, x.out, x.Lq, x.d, x.scale, seen, scores, acc);
    return;
  }
  const tmp = new Float32Array(x.Lq * x.d);
  attendSlice(
    x.q.subarray(qOff, qOff + x.Lq * x.d),
    0,
    x.k,
    x.v,
    x.kvOff + s * x.kvStride,
    tmp,
    x.Lq,
    x.d,
    x.scale,
    seen,
    scores,
    acc,
  );
  x.out.set(tmp, outOff);
}

let shared: WasmAttention | undefined;

/** The process-wide wasm kernel (one memory, one worker pool), created on first use; callers are synchronous. */
function sharedWasm(): WasmAttention {
  // NEXTSCALE_THREADS sizes the shared kernel like the dense engine (core's settings module reads it)
  shared ??= createWasmAttention({ threads: readSettings().threads });
  return shared;
}

/** A wasm kernel: the shared one, or with `threads` given, a private one that `dispose()` stops. */
export function wasmKernel(threads?: number): AttentionKernel {
  const own = threads === undefined ? null : createWasmAttention({ threads });
  const k = () => own ?? sharedWasm();
  return {
    kind: 'wasm',
    get threads() {
      return k().threads;
    },
    run: (call) => k().attend(call),
    memoryBytes: () => k().memoryBytes(),
    ready: () => k().ready(),
    dispose: async () => {
      if (own) await own.dispose();
    },
  };
}
