/**
 * How onnxruntime-web is set up in the browser, in one place (whatever thread owns its sessions calls this once,
 * before the first session): where its files are (the app's own origin, no CDN), how many threads its wasm runs on,
 * and, for the native WebGPU execution provider (the `onnxruntime-web/webgpu` entry, not the deprecated JSEP), which
 * adapter it runs on. It proves that ONNX Runtime loads by running a one-node graph, and returns what was actually set
 * up, for the engine's name.
 */
import { siluGraph } from './graphs.js';
import { sessionOptions } from './session-options.js';

/** The part of onnxruntime-web's API this uses (its env, a session and a tensor). */
export interface OrtWebLike {
  env: { wasm: { wasmPaths?: unknown; numThreads?: number; proxy?: boolean }; webgpu: { adapter?: unknown } };
  InferenceSession: {
    create(
      bytes: Uint8Array,
      o: Record<string, unknown>,
    ): Promise<{ run(feeds: object): Promise<unknown>; release(): Promise<void> }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

/** onnxruntime-web's files for its webgpu entry: the .wasm, and the glue .mjs its thread workers start from. */
export const ORT_WEB_FILES = {
  wasm: 'ort-wasm-simd-threaded.asyncify.wasm',
  mjs: 'ort-wasm-simd-threaded.asyncify.mjs',
} as const;

export interface OrtWebSetup {
  /** URL prefix (ending in '/') where the app serves ORT_WEB_FILES. */
  wasmPaths: string;
  /** Wasm threads asked for (1 when absent); onnxruntime-web runs on one where the page is not cross-origin isolated. */
  threads?: number;
  executionProvider: 'wasm' | 'webgpu';
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

/** A GPU adapter's name as the browser reports it (its description, else vendor, architecture and device). */
export function adapterName(a: AdapterLike): string {
  const i = a.info ?? {};
  return i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(' ') || 'an unnamed adapter';
}

export interface OrtWebStarted {
  /** The wasm threads onnxruntime-web runs on (after its own fall back to one). */
  threads: number;
  /** The WebGPU adapter's name (webgpu execution provider only). */
  adapter?: string;
}

export async function startOrtWeb(ort: OrtWebLike, o: OrtWebSetup): Promise<OrtWebStarted> {
  // The glue .mjs comes from the app too: the threads' workers start from its URL, which must be same-origin.
  ort.env.wasm.wasmPaths = {
    wasm: new URL(ORT_WEB_FILES.wasm, o.wasmPaths).href,
    mjs: new URL(ORT_WEB_FILES.mjs, o.wasmPaths).href,
  };
  ort.env.wasm.numThreads = Math.max(1, Math.floor(o.threads ?? 1));
  ort.env.wasm.proxy = false;
  let adapter: string | undefined;
  if (o.executionProvider === 'webgpu') adapter = await useAdapter(ort);
  // one tiny session: a missing or unservable file fails here, at start-up, instead of in the first layer
  const g = siluGraph();
  const s = await ort.InferenceSession.create(
    g.bytes,
    sessionOptions({ executionProviders: [o.executionProvider] }, { optimization: 'all' }),
  );
  await s.run({ x: new ort.Tensor('float32', new Float32Array([0, 1]), [2]) });
  await s.release();
  return { threads: ort.env.wasm.numThreads, ...(adapter ? { adapter } : {}) };
}

async function useAdapter(ort: OrtWebLike): Promise<string> {
  const gpu = (
    globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } } | undefined
  )?.gpu;
  if (!gpu)
    throw new Error(
      'WebGPU was asked for, but this browser has no WebGPU (navigator.gpu is missing in workers): choose the wasm execution provider',
    );
  const adapter = await gpu.requestAdapter();
  if (!adapter)
    throw new Error(
      'WebGPU was asked for, but this browser gives the worker no WebGPU adapter: choose the wasm execution provider',
    );
  // the adapter named is the one onnxruntime-web runs on
  ort.env.webgpu.adapter = adapter;
  return adapterName(adapter);
}
