/**
 * The descriptor of the WebAssembly dense engine (priority 10: above core's TypeScript reference, below native
 * engines such as ONNX Runtime). The kernels themselves are still compiled in @nextscale/core (see README: moving
 * them here is the next step of issue 15); this package is the plug the registry and the CLI find.
 */
import {
  createWasmDenseEngine,
  detectWasmFeatures,
  ENGINE_API_VERSION,
  type DenseEngineDescriptor,
  type EngineCreateOptions,
  type WasmDenseEngine,
  type WasmGemmOptions,
} from '@nextscale/core';

export const VERSION = '0.1.0';

/** create()'s options: threads, and the GEMM's tuning (relaxed, parallelThreshold, mc/nc/kc, chunkFloats). */
export type WasmEngineOptions = EngineCreateOptions & WasmGemmOptions;

export const engine: DenseEngineDescriptor = {
  id: 'wasm',
  packageName: '@nextscale/engine-wasm',
  version: VERSION,
  apiVersion: ENGINE_API_VERSION,
  priority: 10,
  async probe() {
    const f = detectWasmFeatures();
    if (!f.simd) return { available: false, reason: 'this JavaScript engine has no WebAssembly SIMD' };
    const pool = f.node && f.sharedMemory && f.canBlock;
    return {
      available: true,
      detail: `WebAssembly SIMD${f.relaxedSimd ? ' + relaxed SIMD (FMA)' : ''}, ${pool ? 'worker pool' : 'one thread'}`,
    };
  },
  async create(options: WasmEngineOptions = {}): Promise<WasmDenseEngine> {
    return createWasmDenseEngine(options);
  },
};
