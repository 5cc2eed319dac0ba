/**
 * @nextscale/engine-onnx/browser: the same engine and graphs on onnxruntime-web, for a dedicated worker of a
 * cross-origin-isolated page (README, "In the browser"). Imports no node: module and not onnxruntime-node.
 */
import { OnnxDenseEngine } from './engine.js';
import { WebOrtBridge, type WebBridgeOptions } from './web-bridge.js';
import { ORT_WEB_FILES } from './web-session.js';

export { OnnxDenseEngine } from './engine.js';
export { WebOrtBridge, type WebBridgeOptions, type WorkerLike } from './web-bridge.js';
export { createOrtServer, type OrtLike, type ServerRequest } from './ort-server.js';
export { startOrtWeb, adapterName, ORT_WEB_FILES, type OrtWebSetup, type OrtWebStarted } from './web-session.js';
export { describeRuntime, type OnnxBridge, type RunInput } from './bridge-contract.js';
export { encodeModel, type GraphSpec, type NodeSpec, type Initializer, type ValueInfo } from './onnx-proto.js';
export { linearGraph, convGraph, gemmNTGraph, layerNormGraph, geluTanhGraph, siluGraph, type GraphModel } from './graphs.js';
export type { Conv2dArgs, DenseEngineLike } from './types.js';

/** onnxruntime-web's version this package is built and tested with. */
export const ORT_WEB_VERSION = '1.31.1';
/** The files the app must serve at `wasmPaths` (copied from onnxruntime-web/dist): the .wasm and its threads' glue. */
export const ORT_WEB_WASM_FILES = Object.values(ORT_WEB_FILES);

/** Whether this browser gives a WebGPU adapter (the webgpu execution provider is offered only then). */
export async function webgpuAdapterAvailable(): Promise<boolean> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/**
 * The dense engine on onnxruntime-web. Weights stay in JavaScript as well (releaseWeights off by default: a page
 * switches engines on the same loaded model). Its name says which execution provider ran, e.g.
 * 'onnxruntime-web 1.31.1 wasm (4 threads)' or 'onnxruntime-web 1.31.1 webgpu on google swiftshader (2 threads)':
 * the threads onnxruntime-web actually runs on.
 */
export async function createWebOnnxEngine(o: WebBridgeOptions & { releaseWeights?: boolean }): Promise<OnnxDenseEngine> {
  const bridge = await WebOrtBridge.start(o);
  return new OnnxDenseEngine(bridge, bridge.started.threads, o.releaseWeights ?? false);
}
