export type { DType } from './dtype.js';
export {
  DTYPE_SIZE,
  dtypeSize,
  isDType,
  toFloat32,
  f16ToF32,
  bf16ToF32,
  f32ToHalfBits,
  f32ToBf16Bits,
} from './dtype.js';
export type { TensorInfo, WeightsFormat, WeightsReader } from './types.js';
export { openSafetensors, MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsFile, SafetensorsTensorInfo } from './safetensors.js';
export { writeSafetensors, safetensorsTempPath } from './safetensors-writer.js';
export type { SafetensorsData, SafetensorsEntry, WriteResult, WriteOptions } from './safetensors-writer.js';
export { openPth } from './pth/reader.js';
export type { PthFile } from './pth/reader.js';
export {
  loadStateDict,
  loadStateDictFromBytes,
  loadStateDictFromSource,
  openWeights,
  openWeightsSource,
  openWeightsBytes,
  readStateDict,
  float32Bytes,
} from './load.js';
export type { ByteSource } from './io.js';
export type { StateDictFile, OpenWeightsOptions, LoadStateDictOptions } from './load.js';
export { assertFiniteWeights, countNonFinite, describeNonFinite } from './finite.js';
export type { NonFiniteCount, FiniteCheckOptions } from './finite.js';
export { inspectWeights, convertToSafetensors } from './convert.js';
export type { WeightsIndex } from './convert.js';
