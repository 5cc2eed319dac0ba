/** This backend's compiled attention kernel (assembly/*.ts, embedded by build-wasm) and what it exports. */
import { KernelModules } from '@nextscale/wasm-runtime';
import { WASM_BASE64 } from './bytes.generated.js';

/** The functions exported by assembly/index.ts (addresses are byte offsets into the memory). */
export interface AttentionExports {
  attendRows(
    q: number,
    k: number,
    v: number,
    out: number,
    rows: number,
    n: number,
    d8: number,
    scale: number,
    scratch: number,
  ): void;
  attnScratchBytes(d8: number): number;
}

/** Plain SIMD only: the kernel uses no fused multiply-add, so a relaxed build would be the same code. */
export const attentionKernels = new KernelModules('@nextscale/backend-cpu', WASM_BASE64);

/** Compiles the kernel ahead of time (needed before first use on a browser page's main thread). */
export function loadAttentionKernels(): Promise<void> {
  return attentionKernels.load();
}
