/**
 * @nextscale/engine-onnx/browser: the same engine and graphs on onnxruntime-web, called directly (and awaited) in the
 * thread that generates: the app's generation worker (README, "In the browser"). Imports no node: module and not
 * onnxruntime-node.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { OnnxDenseEngine } from './engine.js';
import { OrtSessions, type OrtLike } from './sessions.js';
import { VERSION } from './version.js';
import { ORT_WEB_FILES, startOrtWeb, type OrtWebLike, type OrtWebStarted } from './web-session.js';

export { OnnxDenseEngine } from './engine.js';
export { OrtSessions, type OrtLike, type OrtSession, type RunInput } from './sessions.js';
export { sessionOptions, type SessionSettings } from './session-options.js';
export { startOrtWeb, adapterName, ORT_WEB_FILES, type OrtWebSetup, type OrtWebStarted } from './web-session.js';
export { encodeModel, type GraphSpec, type NodeSpec, type Initializer, type ValueInfo } from './onnx-proto.js';
export { linearGraph, convGraph, layerNormGraph, geluTanhGraph, siluGraph, type GraphModel } from './graphs.js';
export type { Conv2dArgs, DenseEngineLike } from './types.js';

/** onnxruntime-web's version this package is built and tested with. */
export const ORT_WEB_VERSION = '1.31.1';
/** The files the app must serve at `wasmPaths` (copied from onnxruntime-web/dist): the .wasm and its threads' glue. */
export const ORT_WEB_WASM_FILES = Object.values(ORT_WEB_FILES);

export interface WebEngineOptions {
  /** Where the app serves ORT_WEB_WASM_FILES (a URL prefix ending in '/', resolved against the page's location). */
  wasmPaths: string;
  /** 'wasm' (default) or 'webgpu' (refused at start-up when the browser gives no adapter). */
  executionProvider?: 'wasm' | 'webgpu';
  /** Wasm threads asked for (1 when absent; onnxruntime-web runs on one where the page is not cross-origin isolated). */
  threads?: number;
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
 * The dense engine on onnxruntime-web, awaited in the calling thread (the app's generation worker). Its name says
 * which execution provider runs and on how many threads onnxruntime-web actually runs, e.g.
 * 'onnxruntime-web 1.31.1 wasm (4 threads)' or 'onnxruntime-web 1.31.1 webgpu on google swiftshader (2 threads)'.
 * Start-up runs a one-node graph, so a missing or unservable file (or no WebGPU adapter) fails here, with where the
 * files were looked for, instead of in the first layer.
 */
export async function createWebOnnxEngine(o: WebEngineOptions): Promise<OnnxDenseEngine> {
  const ep = o.executionProvider ?? 'wasm';
  const wasmBase = new URL(o.wasmPaths, (globalThis as { location?: { href: string } }).location?.href).href;
  let started: OrtWebStarted;
  try {
    started = await startOrtWeb(ort as unknown as OrtWebLike, {
      wasmPaths: wasmBase,
      threads: o.threads,
      executionProvider: ep,
    });
  } catch (e) {
    throw new Error(
      `engine-onnx: onnxruntime-web failed to start (${ep} execution provider, .wasm from ${wasmBase}): ${(e as Error).message}`,
    );
  }
  const runtime = `onnxruntime-web ${ORT_WEB_VERSION} ${ep}${started.adapter ? ` on ${started.adapter}` : ''}`;
  const sessions = new OrtSessions(ort as unknown as OrtLike, { executionProviders: [ep] }, runtime);
  return new OnnxDenseEngine(sessions, started.threads, o.releaseWeights ?? false);
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
    if (typeof wasmPaths !== 'string')
      throw new Error("engine-onnx: create() needs { wasmPaths }, where the page serves onnxruntime-web's .wasm");
    return createWebOnnxEngine({ ...options, wasmPaths });
  },
};
