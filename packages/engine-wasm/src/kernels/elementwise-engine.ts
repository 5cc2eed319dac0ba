/**
 * The WebAssembly SIMD ElementwiseEngine (assembly/elementwise.ts): layerNorm, groupNorm, softmax, geluTanh and silu
 * on the calling thread (they are memory-bound; a pool would not pay). Each call copies its input into the kernels'
 * memory, runs, and copies the result out; large inputs are processed in chunks of whole rows (whole batch items for
 * groupNorm) so the memory stays bounded.
 */
import type { ElementwiseEngine } from '@nextscale/core/ops';
import { align64, CALL_BASE, WasmRuntime, type RuntimeOptions } from '@nextscale/wasm-runtime';
import { denseKernels, type GemmExports } from './modules.js';

export interface WasmElementwiseOptions extends Pick<RuntimeOptions, 'relaxed'> {
  /** Floats of input per chunk (default 2²⁰ = 4 MiB; small in tests). */
  chunkFloats?: number;
}

export interface WasmElementwiseEngine extends ElementwiseEngine {
  /** exp over n floats with the float32 kernel behind silu/geluTanh (for accuracy tests). */
  expF32(x: Float32Array, out: Float32Array, n: number): void;
  /** exp over n floats (x ≤ 0) with the float64 kernel behind softmax, rounded to float32 (for accuracy tests). */
  expNeg64(x: Float32Array, out: Float32Array, n: number): void;
  /** Bytes of WebAssembly memory in use (it grows to the largest chunk and stays). */
  memoryBytes(): number;
}

export function createWasmElementwiseEngine(options: WasmElementwiseOptions = {}): WasmElementwiseEngine {
  const rt = new WasmRuntime<GemmExports>(
    { modules: denseKernels },
    { threads: 1, ...(options.relaxed === undefined ? {} : { relaxed: options.relaxed }) },
  );
  const { heap, ex } = rt;
  const chunkFloats = Math.max(1, options.chunkFloats ?? 1 << 20);

  /** Copies x[off, off+n) in, makes room for the output (and `extraBytes`), returns the addresses. */
  function stage(
    x: Float32Array,
    off: number,
    n: number,
    extraBytes: number,
  ): { xAt: number; oAt: number; sAt: number } {
    const xAt = CALL_BASE;
    const oAt = align64(xAt + n * 4);
    const sAt = align64(oAt + n * 4);
    heap.ensure(sAt + extraBytes);
    heap.f32.set(x.subarray(off, off + n), xAt >> 2);
    return { xAt, oAt, sAt };
  }

  function unstage(out: Float32Array, off: number, n: number, oAt: number): void {
    out.set(heap.f32.subarray(oAt >> 2, (oAt >> 2) + n), off);
  }

  /** Runs `kernel` over rows of `cols` floats, in chunks of whole rows. */
  function byRows(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    scratchBytes: number,
    kernel: (xAt: number, oAt: number, rows: number, sAt: number) => void,
  ): void {
    if (rows <= 0 || cols <= 0) return;
    const step = Math.max(1, Math.floor(chunkFloats / cols));
    for (let r0 = 0; r0 < rows; r0 += step) {
      const nr = Math.min(step, rows - r0);
      const { xAt, oAt, sAt } = stage(x, r0 * cols, nr * cols, scratchBytes);
      kernel(xAt, oAt, nr, sAt);
      unstage(out, r0 * cols, nr * cols, oAt);
    }
  }

  function elementwise(
    x: Float32Array,
    out: Float32Array,
    n: number,
    kernel: (x: number, o: number, n: number) => void,
  ): void {
    for (let i0 = 0; i0 < n; i0 += chunkFloats) {
      const m = Math.min(chunkFloats, n - i0);
      const { xAt, oAt } = stage(x, i0, m, 0);
      kernel(xAt, oAt, m);
      unstage(out, i0, m, oAt);
    }
  }

  return {
    name: `wasm-simd-elementwise`,
    layerNormRows(x, out, rows, cols, eps) {
      byRows(x, out, rows, cols, 0, (xAt, oAt, nr) => ex.layerNormRows(xAt, oAt, nr, cols, eps));
    },
    groupNorm(x, out, B, C, HW, groups, weight, bias, eps) {
      const per = C * HW;
      if (B <= 0 || per <= 0) return;
      byRows(x, out, B, per, align64(C * 4) * 2, (xAt, oAt, nb, sAt) => {
        const f = heap.f32;
        f.set(weight.subarray(0, C), sAt >> 2);
        const bAt = sAt + align64(C * 4);
        f.set(bias.subarray(0, C), bAt >> 2);
        ex.groupNorm(xAt, oAt, nb, C, HW, groups, sAt, bAt, eps);
      });
    },
    softmaxRows(x, out, rows, cols) {
      byRows(x, out, rows, cols, cols * 8, (xAt, oAt, nr, sAt) => ex.softmaxRows(xAt, oAt, nr, cols, sAt));
    },
    geluTanh: (x, out, n) => elementwise(x, out, n, (a, o, m) => ex.geluTanhN(a, o, m)),
    silu: (x, out, n) => elementwise(x, out, n, (a, o, m) => ex.siluN(a, o, m)),
    expF32: (x, out, n) => elementwise(x, out, n, (a, o, m) => ex.expN(a, o, m)),
    expNeg64: (x, out, n) => elementwise(x, out, n, (a, o, m) => ex.expNeg64N(a, o, m)),
    memoryBytes: () => heap.memory.buffer.byteLength,
  };
}
