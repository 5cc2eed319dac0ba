export { engine, VERSION, ORT_VERSION, loadOrt, defaultThreads, type OnnxEngineOptions } from './descriptor.js';
export { OnnxDenseEngine } from './engine.js';
export { encodeModel, type GraphSpec, type NodeSpec, type Initializer, type ValueInfo } from './onnx-proto.js';
export type { Conv2dArgs, DenseEngineLike } from './types.js';
export { linearGraph, feedForwardGraph, convGraph, gemmNTGraph, layerNormGraph, geluTanhGraph, siluGraph, type GraphModel } from './graphs.js';
export { OrtBridge, resolveOrt, type BridgeOptions } from './bridge.js';
export { transformerBlockGraph, type BlockShape, type BlockWeights } from './block-graph.js';
export { BlockRunner, type TransformerBlockArgs, type SessionSettings } from './block-runner.js';
