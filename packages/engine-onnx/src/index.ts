export { engine, VERSION, ORT_VERSION, loadOrt, defaultThreads, type OnnxEngineOptions } from './descriptor.js';
export { OnnxDenseEngine } from './engine.js';
export { createOnnxEngine, resolveOrt } from './node.js';
export { OrtSessions, type OrtLike, type OrtSession, type RunInput } from './sessions.js';
export { sessionOptions, type SessionSettings, type CpuSettings } from './session-options.js';
export {
  encodeModel,
  encodeModelExternal,
  type ExternalData,
  type GraphSpec,
  type NodeSpec,
  type Initializer,
  type ValueInfo,
} from './onnx-proto.js';
export type { Conv2dArgs, DenseEngineLike } from './types.js';
export { linearGraph, convGraph, layerNormGraph, geluTanhGraph, siluGraph, type GraphModel } from './graphs.js';
export { transformerBlockGraph, type BlockShape, type BlockWeights } from './block-graph.js';
export { BlockRunner, type TransformerBlockArgs } from './block-runner.js';
