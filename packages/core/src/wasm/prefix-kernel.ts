/**
 * The low-rank backend's float64 prefix sums in WebAssembly SIMD (assembly/prefix.ts): bitwise the same results as
 * the JavaScript loops, about 2–3× faster. Each call copies S and its operands into the kernels' memory and S (or the
 * read-out) back, so callers keep plain Float64Arrays; one calling thread, one memory for the process.
 */
import { align64, CALL_BASE } from './heap.js';
import { WasmRuntime } from './runtime.js';
import { detectWasmFeatures } from './features.js';

export interface PrefixKernel {
  /** S (r × D) += Φᵀ U, with phi n × r and u n × D, all row-major. */
  fold(S: Float64Array, phi: Float64Array, u: Float64Array, n: number, r: number, D: number): void;
  /** acc (n × D) = Φ S. */
  read(S: Float64Array, phi: Float64Array, n: number, r: number, D: number, acc: Float64Array): void;
}

let shared: PrefixKernel | null | undefined;

/** The process-wide WebAssembly prefix kernel, or null where WebAssembly SIMD is missing. */
export function wasmPrefixKernel(): PrefixKernel | null {
  if (shared === undefined) shared = detectWasmFeatures().simd ? createWasmPrefixKernel() : null;
  return shared;
}

export function createWasmPrefixKernel(): PrefixKernel {
  // Plain SIMD, never relaxed: a fused multiply-add would change the rounding the certificate accounts for.
  const rt = new WasmRuntime({ threads: 1, relaxed: false });
  const { heap, ex } = rt;
  let f64 = new Float64Array(heap.memory.buffer);
  const view = () => (f64.buffer === heap.memory.buffer ? f64 : (f64 = new Float64Array(heap.memory.buffer)));

  /** Lays out the given lengths (in float64s) from CALL_BASE, grows the memory, returns the byte addresses. */
  function layout(...lengths: number[]): number[] {
    const at: number[] = [];
    let next = CALL_BASE;
    for (const n of lengths) {
      at.push(next);
      next = align64(next + n * 8);
    }
    heap.ensure(next);
    return at;
  }

  return {
    fold(S, phi, u, n, r, D) {
      if (n <= 0) return;
      const [sAt, pAt, uAt] = layout(r * D, n * r, n * D) as [number, number, number];
      const m = view();
      m.set(S.subarray(0, r * D), sAt >> 3);
      m.set(phi.subarray(0, n * r), pAt >> 3);
      m.set(u.subarray(0, n * D), uAt >> 3);
      ex.prefixFold(sAt, pAt, uAt, n, r, D);
      S.set(view().subarray(sAt >> 3, (sAt >> 3) + r * D));
    },
    read(S, phi, n, r, D, acc) {
      if (n <= 0) return;
      const [sAt, pAt, aAt] = layout(r * D, n * r, n * D) as [number, number, number];
      const m = view();
      m.set(S.subarray(0, r * D), sAt >> 3);
      m.set(phi.subarray(0, n * r), pAt >> 3);
      ex.prefixRead(sAt, pAt, n, r, D, aAt);
      acc.set(view().subarray(aAt >> 3, (aAt >> 3) + n * D));
    },
  };
}
