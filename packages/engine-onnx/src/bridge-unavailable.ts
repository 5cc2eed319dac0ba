/**
 * Stands in for bridge.ts (onnxruntime-node on a node worker thread) in the browser build, so that
 * `@nextscale/engine-onnx/browser` imports no node: module. OnnxDenseEngine.create is the Node entry's way in;
 * in the browser the engine comes from createWebOnnxEngine.
 */
export type { BridgeOptions, RunInput } from './bridge.js';

export class OrtBridge {
  static start(): Promise<never> {
    return Promise.reject(new Error('engine-onnx: OnnxDenseEngine.create runs onnxruntime-node; in the browser use createWebOnnxEngine from @nextscale/engine-onnx/browser'));
  }
}
