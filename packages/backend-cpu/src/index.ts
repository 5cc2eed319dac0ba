export { backend, createCpuAttention, VERSION, type CpuAttentionOptions, type CpuAttentionInstance } from './backend.js';
export { attendSlice } from './kernel.js';
export { querySegments } from './segments.js';
export type { KernelKind } from './kernels.js';
