export {
  backend,
  createCpuAttention,
  VERSION,
  type CpuAttentionOptions,
  type CpuAttentionInstance,
} from './backend.js';
export { attendSlice } from './kernel.js';
export { querySegments } from './segments.js';
export type { KernelKind } from './kernels.js';
// The WebAssembly attention kernel (formerly exported by @nextscale/core)
export {
  createWasmAttention,
  type QuerySegment,
  type WasmAttention,
  type WasmAttentionCall,
  type WasmAttentionOptions,
} from './wasm/attention.js';
export { loadAttentionKernels } from './wasm/modules.js';
