export {
  backend,
  createGpuAttention,
  VERSION,
  type GpuAttentionInstance,
  type GpuAttentionOptions,
} from './backend.js';
export { chooseMode, modeSupported, GPU_MODES, type GpuMode, type ModeChoice, type ModeSupport } from './modes.js';
export { ensureNodeWebGPU } from './node-webgpu.js';
