/**
 * What OnnxDenseEngine needs from the thread that owns the ONNX Runtime sessions: OrtBridge (onnxruntime-node on a
 * node worker thread, bridge.ts) and WebOrtBridge (onnxruntime-web in a nested module Worker, web-bridge.ts) both
 * give it. Every call but `dispose` is synchronous: the caller blocks in Atomics.wait while the sessions' owner runs.
 */
import type { RunInput } from './bridge.js';

export type { RunInput };

export interface OnnxBridge {
  /** ONNX Runtime's versions as it reports them (`node` for onnxruntime-node, `web` for onnxruntime-web). */
  readonly versions: Record<string, string>;
  /** Which runtime and execution provider runs the sessions, e.g. 'onnxruntime-web 1.31.1 wasm' (absent: onnxruntime-node's CPU). */
  readonly runtime?: string;
  /** Creates a session from a serialised model (the bytes may be transferred: the caller must not reuse them). */
  createSession(bytes: Uint8Array, label: string, optimization?: string, memArena?: boolean): number;
  releaseSession(id: number): void;
  /** Runs session `id` on the inputs and writes its output `y` (outDims' product of floats) into out[outOffset…]. */
  run(id: number, inputs: readonly RunInput[], outDims: readonly number[], out: Float32Array, outOffset: number, label: string): void;
  dispose(): Promise<void>;
}

/** The runtime part of the engine's name. */
export function describeRuntime(bridge: OnnxBridge): string {
  return bridge.runtime ?? `onnxruntime-node ${bridge.versions.node ?? '?'} cpu`;
}

/**
 * Lays a run's inputs out one after another at the start of the shared data buffer, the output's place after them.
 * `buffer(n)` returns the shared buffer grown to at least n floats. Both bridges use this layout; the sessions'
 * owner reads the inputs and writes the output at the float offsets given in the request.
 */
export function stageRun(
  inputs: readonly RunInput[],
  outDims: readonly number[],
  buffer: (floats: number) => Float32Array,
): { data: Float32Array; specs: [string, number, readonly number[]][]; outAt: number; outLength: number } {
  const lengths = inputs.map((i) => i.length ?? i.data.length - (i.offset ?? 0));
  const outLength = outDims.reduce((a, b) => a * b, 1);
  const data = buffer(lengths.reduce((a, b) => a + b, 0) + outLength);
  const specs: [string, number, readonly number[]][] = [];
  let at = 0;
  inputs.forEach((inp, k) => {
    const off = inp.offset ?? 0;
    data.set(inp.data.subarray(off, off + lengths[k]!), at);
    specs.push([inp.name, at, inp.dims]);
    at += lengths[k]!;
  });
  return { data, specs, outAt: at, outLength };
}

/** The shared data buffer replaced by one of at least n floats (growing by half at least), or `data` when it fits. */
export function grownBuffer(data: Float32Array<SharedArrayBuffer>, n: number): Float32Array<SharedArrayBuffer> {
  if (data.length >= n) return data;
  return new Float32Array(new SharedArrayBuffer(Math.max(n, Math.ceil(data.length * 1.5)) * 4));
}

/**
 * Blocks until the sessions' owner answers the request just posted (ctl[0]: 1 done, 2 failed with the UTF-8 message
 * in `err`, its length in ctl[1]) and throws its failure as one line. Returns false when `timeoutMs` passed first.
 */
export function awaitAnswer(ctl: Int32Array, err: SharedArrayBuffer, label: string, timeoutMs?: number): boolean {
  if (Atomics.wait(ctl, 0, 0, timeoutMs) === 'timed-out') return false;
  if (Atomics.load(ctl, 0) === 2) {
    const n = Atomics.load(ctl, 1);
    // ONNX Runtime's messages can span lines (a stack of where it failed): one line for the user
    const msg = new TextDecoder().decode(new Uint8Array(err).slice(0, n)).replace(/\s*\n\s*/g, ' ').trim();
    throw new Error(`engine-onnx: ONNX Runtime failed ${label}: ${msg}`);
  }
  return true;
}
