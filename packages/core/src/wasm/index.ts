/** WebAssembly SIMD kernels for the CPU: a GemmEngine (one thread or a worker pool) and the feature checks. */
export { detectWasmFeatures, type WasmFeatures } from './features.js';
export {
  createWasmGemmEngine,
  wasmGemmAvailable,
  DOT_MAX_ROWS,
  type WasmGemmEngine,
  type WasmGemmOptions,
  type WasmGemmStats,
} from './gemm-engine.js';
export { defaultThreads, type RuntimeOptions } from './runtime.js';
export { installDefaultGemmEngine, defaultEngineOptions } from './default.js';
export { loadWasmKernels } from './module.js';
export { createWasmAttention, type WasmAttention, type WasmAttentionOptions, type WasmAttentionCall, type QuerySegment } from './attention.js';
export { createWasmElementwiseEngine, type WasmElementwiseEngine, type WasmElementwiseOptions } from './elementwise-engine.js';
export { wasmPrefixKernel, createWasmPrefixKernel, type PrefixKernel, type MonomialChain } from './prefix-kernel.js';
export { createWasmDenseEngine, type WasmDenseEngine } from './dense-engine.js';
