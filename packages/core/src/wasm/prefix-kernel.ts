/**
 * The low-rank backend's float64 prefix sums and feature maps in WebAssembly (assembly/prefix.ts): bitwise the same
 * results as the JavaScript loops, several times faster. Each call copies S and its operands into the kernels' memory and S (or the
 * read-out) back, so callers keep plain Float64Arrays; one calling thread, one memory for the process.
 */
import { align64, CALL_BASE } from './heap.js';
import { WasmRuntime } from './runtime.js';
import { detectWasmFeatures } from './features.js';
import { isCompiled } from './module.js';

export interface PrefixKernel {
  /** S (r × D) += Φᵀ U, with phi n × r and u n × D, all row-major. */
  fold(S: Float64Array, phi: Float64Array, u: Float64Array, n: number, r: number, D: number): void;
  /** acc (n × D) = Φ S. */
  read(S: Float64Array, phi: Float64Array, n: number, r: number, D: number, acc: Float64Array): void;
  /**
   * out (n × r) = the polynomial features of n rows of x (d floats each, from `off`): out[m] =
   * out[parent[m]]·(a·x[coord[m]])·mult[m] with out[0] = 1, then ·w[m] (the low-rank backend's monomial chain).
   */
  featurize(x: Float32Array, off: number, n: number, d: number, a: number, w: Float64Array, table: MonomialChain, out: Float64Array): void;
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
 * thread until `loadWasmKernels()` has compiled the kernels (pages may not compile them synchronously). Callers then
 * use their JavaScript loops, which give the same bits.
 */
export function wasmPrefixKernel(): PrefixKernel | null {
  if (shared === undefined) {
    if (!detectWasmFeatures().simd) shared = null;
    else if (!isCompiled('simd') && !syncCompileAllowed()) return null;
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
  const rt = new WasmRuntime({ threads: 1, relaxed: false });
  const { heap, ex } = rt;
  let f64 = new Float64Array(heap.memory.buffer);
  const view = () => (f64.buffer === heap.memory.buffer ? f64 : (f64 = new Float64Array(heap.memory.buffer)));
  const bytes = () => new Uint8Array(heap.memory.buffer);

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
    featurize(x, off, n, d, a, w, table, out) {
      if (n <= 0) return;
      const { r } = table;
      // Lengths in float64 units (the int32 and float32 arrays take at most as many bytes).
      const [xAt, wAt, pAt, cAt, mAt, oAt, sAt] = layout(n * d, r, r, r, r, n * r, d) as [number, number, number, number, number, number, number];
      const mem = bytes();
      const put = (at: number, arr: ArrayBufferView) => mem.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), at);
      put(xAt, x.subarray(off, off + n * d));
      put(wAt, w.subarray(0, r));
      put(pAt, table.parent.subarray(0, r));
      put(cAt, table.coord.subarray(0, r));
      put(mAt, table.mult.subarray(0, r));
      ex.featurizeRows(xAt, n, d, a, wAt, pAt, cAt, mAt, r, oAt, sAt);
      out.set(view().subarray(oAt >> 3, (oAt >> 3) + n * r));
    },
  };
}
