/**
 * The descriptor of the WebAssembly dense engine (priority 10: above core's TypeScript reference, below native
 * engines such as ONNX Runtime): the plug the registry and the CLI find. Its kernels live in src/kernels/ and
 * assembly/; what it shares with the other packages with WebAssembly kernels comes from @nextscale/wasm-runtime.
 */
import { ENGINE_API_VERSION, type DenseEngineDescriptor, type EngineCreateOptions } from '@nextscale/core';
import { detectWasmFeatures } from '@nextscale/wasm-runtime';
import { createWasmDenseEngine, type WasmDenseEngine } from './kernels/dense-engine.js';
import type { WasmGemmOptions } from './kernels/gemm-engine.js';

export const VERSION = '0.1.0';

/** create()'s options: threads, and the GEMM's tuning (relaxed, parallelThreshold, mc/nc/kc, chunkFloats). */
export type WasmEngineOptions = EngineCreateOptions & WasmGemmOptions;

export const engine: DenseEngineDescriptor = {
  kind: 'engine',
  id: 'wasm',
  package: '@nextscale/engine-wasm',
  version: VERSION,
  apiVersion: ENGINE_API_VERSION,
  priority: 10,
  async probe() {
    const f = detectWasmFeatures();
    if (!f.simd) return { available: false, reason: 'this JavaScript engine has no WebAssembly SIMD' };
    const pool = f.node && f.sharedMemory && f.canBlock;
    return {
      available: true,
      reason: `WebAssembly SIMD${f.relaxedSimd ? ' + relaxed SIMD (FMA)' : ''}, ${pool ? 'worker pool' : 'one thread'}`,
    };
  },
  async create(options: WasmEngineOptions = {}): Promise<WasmDenseEngine> {
    return createWasmDenseEngine(options);
  },
};
