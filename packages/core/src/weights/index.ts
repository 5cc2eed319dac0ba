export type { DType } from './dtype.js';
export { DTYPE_SIZE, dtypeSize, isDType, toFloat32, f16ToF32, bf16ToF32, f32ToHalfBits, f32ToBf16Bits } from './dtype.js';
export type { TensorInfo, WeightsFormat, WeightsReader } from './types.js';
export { openSafetensors, MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsFile, SafetensorsTensorInfo } from './safetensors.js';
export { loadStateDict, openWeights } from './load.js';
export type { StateDictFile } from './load.js';
