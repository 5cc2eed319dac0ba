/**
 * @nextscale/engine-onnx/browser: the same engine and graphs on onnxruntime-web, called directly (and awaited) in the
 * thread that generates: the app's generation worker (README, "In the browser"). Imports no node: module and not
 * onnxruntime-node.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { OnnxDenseEngine } from './engine.js';
import { siluGraph } from './graphs.js';
import { configureOrtWeb, ORT_WEB_WASM_FILE } from './session-options.js';
import { OrtSessions, type OrtLike } from './sessions.js';
import { VERSION } from './version.js';

export { OnnxDenseEngine } from './engine.js';
export { OrtSessions, type OrtLike, type OrtSession, type RunInput } from './sessions.js';
export { sessionOptions, configureOrtWeb, type SessionSettings } from './session-options.js';
export { encodeModel, type GraphSpec, type NodeSpec, type Initializer, type ValueInfo } from './onnx-proto.js';
export { linearGraph, convGraph, layerNormGraph, geluTanhGraph, siluGraph, type GraphModel } from './graphs.js';
export type { Conv2dArgs, DenseEngineLike } from './types.js';

/** onnxruntime-web's version this package is built and tested with. */
export const ORT_WEB_VERSION = '1.31.1';
/** The one file the app must serve at `wasmPaths` (copied from onnxruntime-web/dist). */
export const ORT_WEB_WASM_FILES = [ORT_WEB_WASM_FILE] as const;

export interface WebEngineOptions {
  /** Where the app serves onnxruntime-web's .wasm (a URL prefix ending in '/', resolved against the page's location). */
  wasmPaths: string;
  /** 'wasm' (default) or 'webgpu' (refused at start-up when the browser gives no adapter). */
  executionProvider?: 'wasm' | 'webgpu';
  /** Free each weight's JavaScript copy once ONNX Runtime holds it (default off: a page switches engines on one loaded model). */
  releaseWeights?: boolean;
}

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
 * The dense engine on onnxruntime-web. Its name says which execution provider runs, e.g.
 * 'onnxruntime-web 1.31.1 wasm (1 thread)'. Start-up runs a one-node graph, so a missing or unservable .wasm (or
 * no WebGPU adapter) fails here, with where the .wasm was looked for, instead of in the first layer.
 */
export async function createWebOnnxEngine(o: WebEngineOptions): Promise<OnnxDenseEngine> {
  const ep = o.executionProvider ?? 'wasm';
  const wasmBase = new URL(o.wasmPaths, (globalThis as { location?: { href: string } }).location?.href).href;
  try {
    configureOrtWeb(ort.env, wasmBase);
    if (ep === 'webgpu' && !(await webgpuAdapterAvailable())) {
      throw new Error('WebGPU was asked for, but this browser gives the worker no WebGPU adapter: choose the wasm execution provider');
    }
    const sessions = new OrtSessions(ort as unknown as OrtLike, { executionProviders: [ep] }, `onnxruntime-web ${ort.env.versions.web ?? '?'} ${ep}`);
    const g = siluGraph();
    const probe = await sessions.create(g.bytes, g.label);
    await sessions.run(probe, [{ name: 'x', data: Float32Array.of(0, 1), dims: [2] }], [2], new Float32Array(2), 0, g.label);
    sessions.release(probe);
    return new OnnxDenseEngine(sessions, 1, o.releaseWeights ?? false);
  } catch (e) {
    throw new Error(`engine-onnx: onnxruntime-web failed to start (${ep} execution provider, .wasm from ${wasmBase}): ${(e as Error).message}`);
  }
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
    return { available: true, reason: `onnxruntime-web ${ORT_WEB_VERSION}` };
  },
  async create(options: Partial<WebEngineOptions> = {}): Promise<OnnxDenseEngine> {
    const { wasmPaths } = options;
    if (typeof wasmPaths !== 'string') throw new Error("engine-onnx: create() needs { wasmPaths }, where the page serves onnxruntime-web's .wasm");
    return createWebOnnxEngine({ ...options, wasmPaths });
  },
};
