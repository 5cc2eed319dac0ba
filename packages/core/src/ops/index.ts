/** Dense kernels: row-major float32 in and out, float64 where accuracy needs it. */
export { ShapeError, asTensor, expectShape, fromArray, sizeOf, zeros } from '../tensor.js';
export { gemmNT, getGemmEngine, setGemmEngine, jsGemmEngine, type GemmEngine, type GemmNT } from './engine.js';
export { getElementwiseEngine, setElementwiseEngine, type ElementwiseEngine } from './engine.js';
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
  runFeatureNetFast,
  type FeatureOps,
  type FeatureBuild,
  type FeatureNet,
  type FeatureNetNode,
  type FeatureConv,
  type FeatureGroupNorm,
} from './feature-net.js';
