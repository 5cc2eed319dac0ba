/** This package's compiled kernels (assembly/*.ts, embedded by build-wasm) and the functions they export. */
import { KernelModules } from '@nextscale/wasm-runtime';
import { WASM_BASE64 } from './bytes.generated.js';

/** The functions exported by assembly/index.ts (addresses are byte offsets into the memory). */
export interface GemmExports {
  packB(n: number, k: number, b: number, ldb: number, dst: number, j0: number, j1: number): void;
  tile(
    k: number,
    a: number,
    lda: number,
    packed: number,
    c: number,
    ldc: number,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
    kcMax: number,
    scratch: number,
  ): void;
  tileScratchBytes(mc: number, kcMax: number): number;
  panelFloats(k: number): number;
  dotRows(
    m: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    j0: number,
    j1: number,
  ): void;
  layerNormRows(x: number, out: number, rows: number, cols: number, eps: number): void;
  groupNorm(
    x: number,
    out: number,
    B: number,
    C: number,
    HW: number,
    groups: number,
    weight: number,
    bias: number,
    eps: number,
  ): void;
  softmaxRows(x: number, out: number, rows: number, cols: number, scratch: number): void;
  siluN(x: number, out: number, n: number): void;
  geluTanhN(x: number, out: number, n: number): void;
  expN(x: number, out: number, n: number): void;
  expNeg64N(x: number, out: number, n: number): void;
}

export const denseKernels = new KernelModules('@nextscale/engine-wasm', WASM_BASE64);

/**
 * Compiles the kernel variants this JavaScript engine will use, asynchronously. Needed once before creating the
 * engine on a browser page's main thread (pages refuse to compile modules over 4 KB synchronously); harmless elsewhere.
 */
export function loadWasmKernels(): Promise<void> {
  return denseKernels.load();
}
