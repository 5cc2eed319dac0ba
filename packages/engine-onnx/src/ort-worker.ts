/**
 * The nested module Worker that owns the onnxruntime-web sessions (started by WebOrtBridge from the generation
 * worker, which blocks in Atomics.wait while this one runs). Its first message is 'init': it configures
 * onnxruntime-web (wasmPaths: the app's own copy of its .wasm; one thread), checks the execution provider, and proves
 * that ONNX Runtime loads by running a one-node graph, then answers { ready, versions } or { failed }.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { siluGraph } from './graphs.js';
import { createOrtServer, type OrtLike, type ServerRequest } from './ort-server.js';

/** onnxruntime-web's .wasm for its webgpu bundle (wasm and WebGPU execution providers); browser.ts's ORT_WEB_WASM_FILES. */
const WASM_FILE = 'ort-wasm-simd-threaded.asyncify.wasm';

export interface InitRequest {
  op: 'init';
  ctl: Int32Array;
  err: SharedArrayBuffer;
  /** URL prefix (ending in '/') where the app serves onnxruntime-web's ort-wasm-simd-threaded.asyncify.wasm. */
  wasmPaths: string;
  executionProvider: 'wasm' | 'webgpu';
}

const scope = self as unknown as { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown): void };
let serve: ((m: ServerRequest) => void) | null = null;

async function init(m: InitRequest): Promise<void> {
  // only the .wasm is fetched: its JavaScript glue is inside onnxruntime-web's bundle (a bare prefix would make it
  // import the glue's .mjs from there too)
  ort.env.wasm.wasmPaths = { wasm: new URL(WASM_FILE, m.wasmPaths).href };
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  if (m.executionProvider === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    if (!adapter) throw new Error('WebGPU was asked for, but this browser gives the worker no WebGPU adapter: choose the wasm execution provider');
  }
  // one tiny session: a missing or unservable .wasm fails here, at start-up, instead of in the first layer
  const g = siluGraph();
  const s = await ort.InferenceSession.create(g.bytes, { executionProviders: [m.executionProvider] });
  await s.run({ x: new ort.Tensor('float32', new Float32Array([0, 1]), [2]) });
  await s.release();
  serve = createOrtServer(ort as unknown as OrtLike, m.ctl, m.err, m.executionProvider);
}

scope.onmessage = (ev: MessageEvent) => {
  const m = ev.data as InitRequest | ServerRequest;
  if (m.op === 'init') {
    init(m).then(
      () => scope.postMessage({ ready: true, versions: { ...ort.env.versions } }),
      (e: unknown) => scope.postMessage({ failed: String((e as Error)?.message ?? e) }),
    );
    return;
  }
  serve?.(m);
};
