export { engine, VERSION, type WasmEngineOptions } from './engine.js';
export { createWasmDenseEngine, type WasmDenseEngine } from './kernels/dense-engine.js';
export {
  createWasmGemmEngine,
  wasmGemmAvailable,
  DOT_MAX_ROWS,
  type WasmGemmEngine,
  type WasmGemmOptions,
  type WasmGemmStats,
} from './kernels/gemm-engine.js';
export {
  createWasmElementwiseEngine,
  type WasmElementwiseEngine,
  type WasmElementwiseOptions,
} from './kernels/elementwise-engine.js';
export { loadWasmKernels } from './kernels/modules.js';
// formerly exported by @nextscale/core; they live in the shared runtime now
export { defaultThreads, detectWasmFeatures, type RuntimeOptions, type WasmFeatures } from '@nextscale/wasm-runtime';
