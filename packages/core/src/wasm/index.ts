/** WebAssembly SIMD kernels for the CPU: a GemmEngine (one thread or a worker pool) and the feature checks. */
export { detectWasmFeatures, type WasmFeatures } from './features.js';
export {
  createWasmGemmEngine,
  wasmGemmAvailable,
  defaultThreads,
  DOT_MAX_ROWS,
  type WasmGemmEngine,
  type WasmGemmOptions,
  type WasmGemmStats,
} from './gemm-engine.js';
export { installDefaultGemmEngine, defaultEngineOptions } from './default.js';
export { loadWasmKernels } from './module.js';
