export { backend, createLowrankAttention, VERSION } from './backend.js';
export { DEFAULT_OPTIONS, type LowrankAttendSpec, type LowrankOptions, type LowrankStateOptions } from './options.js';
export { featureMap, featurize, monomialTable, type FeatureMap, type MonomialTable } from './features.js';
export { PrefixSums } from './prefix-state.js';
export { LowrankState } from './state.js';
// The WebAssembly prefix-sum kernel (formerly exported by @nextscale/core)
export {
  createWasmPrefixKernel,
  wasmPrefixKernel,
  type MonomialChain,
  type PrefixKernel,
} from './wasm/prefix-kernel.js';
export { loadPrefixKernels } from './wasm/modules.js';
