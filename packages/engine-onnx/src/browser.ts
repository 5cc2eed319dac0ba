/**
 * @nextscale/engine-onnx/browser: the same engine and graphs on onnxruntime-web, for a dedicated worker of a
 * cross-origin-isolated page (README, "In the browser"). Imports no node: module and not onnxruntime-node.
 */
import { OnnxDenseEngine } from './engine.js';
import { VERSION } from './version.js';
import { isolationProblem, WebOrtBridge, type WebBridgeOptions } from './web-bridge.js';

export { OnnxDenseEngine } from './engine.js';
export { WebOrtBridge, type WebBridgeOptions, type WorkerLike } from './web-bridge.js';
export { createOrtServer, type OrtLike, type ServerRequest } from './ort-server.js';
export { describeRuntime, type OnnxBridge, type RunInput } from './bridge-contract.js';
export { encodeModel, type GraphSpec, type NodeSpec, type Initializer, type ValueInfo } from './onnx-proto.js';
export { linearGraph, convGraph, gemmNTGraph, layerNormGraph, geluTanhGraph, siluGraph, type GraphModel } from './graphs.js';
export type { Conv2dArgs, DenseEngineLike } from './types.js';

/** onnxruntime-web's version this package is built and tested with. */
export const ORT_WEB_VERSION = '1.31.1';
/** The one file the app must serve at `wasmPaths` (copied from onnxruntime-web/dist). */
export const ORT_WEB_WASM_FILES = ['ort-wasm-simd-threaded.asyncify.wasm'] as const;

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
 * 'onnxruntime-web 1.31.1 wasm (1 thread)'.
 */
export async function createWebOnnxEngine(o: WebBridgeOptions & { releaseWeights?: boolean }): Promise<OnnxDenseEngine> {
  return new OnnxDenseEngine(await WebOrtBridge.start(o), 1, o.releaseWeights ?? false);
}

/**
 * The browser's engine descriptor: the same plug shape as the Node one (`@nextscale/engine-onnx`'s `engine`), for a
 * page's engine registry. create() takes where the .wasm is served and the execution provider.
 */
export const engine = {
  kind: 'engine' as const,
  id: 'onnx',
  package: '@nextscale/engine-onnx',
  version: VERSION,
  apiVersion: 1 as const,
  priority: 20,
  async probe(): Promise<{ available: boolean; reason: string }> {
    const problem = isolationProblem();
    return problem ? { available: false, reason: problem } : { available: true, reason: `onnxruntime-web ${ORT_WEB_VERSION}` };
  },
  async create(options: Partial<WebBridgeOptions> & { releaseWeights?: boolean } = {}): Promise<OnnxDenseEngine> {
    const { wasmPaths } = options;
    if (typeof wasmPaths !== 'string') throw new Error("engine-onnx: create() needs { wasmPaths }, where the page serves onnxruntime-web's .wasm");
    return createWebOnnxEngine({ ...options, wasmPaths });
  },
};
