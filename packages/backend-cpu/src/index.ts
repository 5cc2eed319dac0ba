export { backend, createCpuAttention, VERSION } from './backend.js';
export { attendSlice } from './kernel.js';
