/** This backend's compiled prefix-sum kernels (assembly/*.ts, embedded by build-wasm) and what they export. */
import { KernelModules } from '@nextscale/wasm-runtime';
import { WASM_BASE64 } from './bytes.generated.js';

/** The functions exported by assembly/index.ts (addresses are byte offsets into the memory). */
export interface PrefixExports {
  prefixFold(s: number, phi: number, u: number, n: number, r: number, D: number): void;
  prefixRead(s: number, phi: number, n: number, r: number, D: number, acc: number): void;
  featurizeRows(
    x: number,
    n: number,
    d: number,
    a: number,
    w: number,
    parent: number,
    coord: number,
    mult: number,
    r: number,
    out: number,
    xs: number,
  ): void;
}

/** Only the plain SIMD variant: one thread, and no fused multiply-add (the results must match the JS loops bitwise). */
export const prefixKernels = new KernelModules('@nextscale/backend-lowrank', WASM_BASE64);

/** Compiles the kernel ahead of time (needed before first use on a browser page's main thread). */
export function loadPrefixKernels(): Promise<void> {
  return prefixKernels.load();
}
