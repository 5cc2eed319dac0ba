/** Dense kernels: row-major float32 in and out, float64 where accuracy needs it. */
export { ShapeError, asTensor, expectShape, fromArray, sizeOf, zeros } from '../tensor.js';
export { gemmNT, jsGemmEngine, type GemmEngine, type GemmNT } from './gemm.js';
export type { ElementwiseEngine } from '../engines/dense-contract.js';
export { matmul } from './matmul.js';
export { linear } from './linear.js';
export { conv2d, type Conv2dOptions } from './conv2d.js';
export { layerNorm, groupNorm, l2Normalize } from './norm.js';
export { softmax } from './softmax.js';
export { silu, geluTanh } from './activation.js';
export { add, addInPlace, scaleInPlace, clamp } from './elementwise.js';
export { embedding } from './embedding.js';
export { upsampleNearest2x, interpolateArea, interpolateBicubic } from './interpolate.js';
export {
  eagerFeatureOps,
  recordFeatureNet,
  featureNetShapes,
  type FeatureOps,
  type FeatureBuild,
  type FeatureNet,
  type FeatureNetNode,
  type FeatureConv,
  type FeatureGroupNorm,
} from './feature-net.js';
