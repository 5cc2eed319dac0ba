/**
 * The low-rank backend's float64 prefix sums and feature maps in WebAssembly (assembly/prefix.ts): bitwise the same
 * results as the JavaScript loops, several times faster. Each call copies S and its operands into the kernels' memory and S (or the
 * read-out) back, so callers keep plain Float64Arrays; one calling thread, one memory for the process.
 */
import { align64, CALL_BASE, detectWasmFeatures, WasmRuntime } from '@nextscale/wasm-runtime';
import { prefixKernels, type PrefixExports } from './modules.js';

export interface PrefixKernel {
  /** S (r × D) += Φᵀ U, with phi n × r and u n × D, all row-major. */
  fold(S: Float64Array, phi: Float64Array, u: Float64Array, n: number, r: number, D: number): void;
  /** acc (n × D) = Φ S. */
  read(S: Float64Array, phi: Float64Array, n: number, r: number, D: number, acc: Float64Array): void;
  /**
   * out (n × r) = the polynomial features of n rows of x (d floats each, from `off`): out[m] =
   * out[parent[m]]·(a·x[coord[m]])·mult[m] with out[0] = 1, then ·w[m] (the low-rank backend's monomial chain).
   */
  featurize(
    x: Float32Array,
    off: number,
    n: number,
    d: number,
    a: number,
    w: Float64Array,
    table: MonomialChain,
    out: Float64Array,
  ): void;
}

/** The monomial enumeration of a feature map: r entries of parent index, coordinate and multinomial step. */
export interface MonomialChain {
  r: number;
  parent: Int32Array;
  coord: Int32Array;
  mult: Float64Array;
}

let shared: PrefixKernel | null | undefined;

/**
 * The process-wide WebAssembly prefix kernel, or null where WebAssembly SIMD is missing, or on a browser page's main
 * thread until `loadPrefixKernels()` has compiled the kernels (pages may not compile them synchronously). Callers then
 * use their JavaScript loops, which give the same bits.
 */
export function wasmPrefixKernel(): PrefixKernel | null {
  if (shared === undefined) {
    if (!detectWasmFeatures().simd) shared = null;
    else if (!prefixKernels.isCompiled('simd') && !syncCompileAllowed()) return null;
    else shared = createWasmPrefixKernel();
  }
  return shared;
}

/** Node and workers may compile a module synchronously; a page's main thread may not (beyond a few KiB). */
function syncCompileAllowed(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; document?: unknown };
  return Boolean(g.process?.versions?.node) || g.document === undefined;
}

export function createWasmPrefixKernel(): PrefixKernel {
  // Plain SIMD, never relaxed: a fused multiply-add would change the rounding the certificate accounts for.
  const rt = new WasmRuntime<PrefixExports>({ modules: prefixKernels }, { threads: 1, relaxed: false });
  const { heap, ex } = rt;
  /**
   * Copies the inputs into the kernels' memory from CALL_BASE, each 64-byte aligned, then reserves the outputs'
   * bytes; returns the inputs' addresses followed by the outputs'.
   */
  function stage(inputs: ArrayBufferView[], ...outputBytes: number[]): number[] {
    const at: number[] = [];
    let next = CALL_BASE;
    for (const bytes of [...inputs.map((x) => x.byteLength), ...outputBytes]) {
      at.push(next);
      next = align64(next + bytes);
    }
    heap.ensure(next);
    const mem = new Uint8Array(heap.memory.buffer);
    inputs.forEach((x, i) => mem.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), at[i]));
    return at;
  }

  /** Copies n float64s at byte address `at` back into out. */
  function take(at: number, out: Float64Array, n: number): void {
    out.set(new Float64Array(heap.memory.buffer, at, n));
  }

  return {
    fold(S, phi, u, n, r, D) {
      if (n <= 0) return;
      const [sAt, pAt, uAt] = stage([S.subarray(0, r * D), phi.subarray(0, n * r), u.subarray(0, n * D)]) as [
        number,
        number,
        number,
      ];
      ex.prefixFold(sAt, pAt, uAt, n, r, D);
      take(sAt, S, r * D);
    },
    read(S, phi, n, r, D, acc) {
      if (n <= 0) return;
      const [sAt, pAt, aAt] = stage([S.subarray(0, r * D), phi.subarray(0, n * r)], n * D * 8) as [
        number,
        number,
        number,
      ];
      ex.prefixRead(sAt, pAt, n, r, D, aAt);
      take(aAt, acc, n * D);
    },
    featurize(x, off, n, d, a, w, table, out) {
      if (n <= 0) return;
      const { r } = table;
      const inputs = [
        x.subarray(off, off + n * d),
        w.subarray(0, r),
        table.parent.subarray(0, r),
        table.coord.subarray(0, r),
        table.mult.subarray(0, r),
      ];
      const [xAt, wAt, pAt, cAt, mAt, oAt, sAt] = stage(inputs, n * r * 8, d * 8) as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      ex.featurizeRows(xAt, n, d, a, wAt, pAt, cAt, mAt, r, oAt, sAt);
      take(oAt, out, n * r);
    },
  };
}
