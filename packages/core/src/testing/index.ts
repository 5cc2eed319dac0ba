export * from './conformance.js';
export * from './exact-test-backend.js';
export * from './dense-conformance.js';
export * from './numeric.js';
export { testModelParity, type ModelParityOptions } from './model-parity.js';
export {
  PickleWriter,
  stateDictPickle,
  buildZip,
  buildCheckpoint,
  f32Bytes,
  type TensorSpec,
  type ZipMember,
} from '../weights/pth/test-support.js';
