/**
 * The WebAssembly dense engine: the SIMD GEMM (one thread or a worker pool) as gemmNT and the single-threaded SIMD
 * row-wise kernels as its layerNorm/groupNorm/softmax/geluTanh/silu fast paths. linear and conv2d run on its gemmNT.
 */
import type { DenseEngine } from '@nextscale/core';
import { createWasmElementwiseEngine } from './elementwise-engine.js';
import { createWasmGemmEngine, type WasmGemmEngine, type WasmGemmOptions } from './gemm-engine.js';

export interface WasmDenseEngine extends DenseEngine {
  readonly gemm: WasmGemmEngine;
  readonly threads: number;
  ready(): Promise<void>;
  dispose(): Promise<void>;
}

export function createWasmDenseEngine(options: WasmGemmOptions = {}): WasmDenseEngine {
  const gemm = createWasmGemmEngine(options);
  const ew = createWasmElementwiseEngine(options.relaxed === undefined ? {} : { relaxed: options.relaxed });
  return {
    id: 'wasm',
    name: gemm.name,
    gemm,
    threads: gemm.threads,
    gemmNT: gemm.gemmNT,
    layerNormRows: ew.layerNormRows,
    groupNorm: ew.groupNorm,
    softmaxRows: ew.softmaxRows,
    geluTanh: ew.geluTanh,
    silu: ew.silu,
    ready: () => gemm.ready(),
    dispose: () => gemm.dispose(),
  };
}
