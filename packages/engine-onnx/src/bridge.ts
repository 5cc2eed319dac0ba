/**
 * The calling thread's side of the ONNX Runtime worker: a synchronous `run` over an asynchronous API.
 *
 * ONNX Runtime's `InferenceSession.run` returns a promise, and core's dense ops are synchronous. So the sessions live on
 * one worker thread; a call copies its inputs into a SharedArrayBuffer, posts the request and blocks in Atomics.wait
 * until the worker has written the output into the same buffer. Blocking is allowed on Node's main thread and in
 * workers (not on a browser page's main thread). The worker uses ONNX Runtime's own intra-op threads; the calling
 * thread sleeps meanwhile, so `threads` is the number of cores the engine keeps busy.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { awaitAnswer, grownBuffer, stageRun } from './bridge-contract.js';
import { workerSource } from './worker-source.js';

const ERR_BYTES = 4096;

export interface BridgeOptions {
  threads: number;
  /** ONNX Runtime's CPU memory arena (faster allocations, memory kept per session). */
  memArena?: boolean;
  /** Let ONNX Runtime's idle threads spin (faster hand-offs; wasteful on a loaded machine). */
  spinning?: boolean;
  /** Let ONNX Runtime prepack constant MatMul weights (default on: batch-invariant MatMul; it holds each weight twice). */
  prepack?: boolean;
}

export interface RunInput {
  name: string;
  data: Float32Array;
  /** Where the values start in `data` and how many there are (default: all of it). */
  offset?: number;
  length?: number;
  dims: readonly number[];
}

/** onnxruntime-node's entry as resolved from this package (the worker cannot resolve it itself: it runs eval'd code). */
export function resolveOrt(): string {
  return createRequire(import.meta.url).resolve('onnxruntime-node');
}

export class OrtBridge {
  private data = new Float32Array(new SharedArrayBuffer(4 << 20));
  private nextId = 1;
  private closed = false;
  private failure: string | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly versions: Record<string, string>,
    private readonly ctl: Int32Array,
    private readonly err: SharedArrayBuffer,
  ) {
    worker.on('error', (e) => (this.failure = `the ONNX Runtime worker failed: ${String(e)}`));
    worker.on('exit', (code) => (this.failure ??= `the ONNX Runtime worker exited (code ${code})`));
    worker.unref();
    this.post({ op: 'data', buffer: this.data.buffer });
  }

  /** Starts the worker and waits until onnxruntime-node has loaded in it (rejects with the loader's error). */
  static async start(o: BridgeOptions): Promise<OrtBridge> {
    const ctl = new Int32Array(new SharedArrayBuffer(16));
    const err = new SharedArrayBuffer(ERR_BYTES);
    const worker = new Worker(workerSource(), {
      eval: true,
      workerData: { ortPath: resolveOrt(), ctl, err, threads: o.threads, memArena: o.memArena ?? false, spinning: o.spinning ?? false, prepack: o.prepack ?? true },
    });
    const versions = await new Promise<Record<string, string>>((resolve, reject) => {
      worker.once('message', (m: { versions: Record<string, string> }) => resolve(m.versions));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the ONNX Runtime worker exited during start-up (code ${code})`)));
    });
    worker.removeAllListeners();
    return new OrtBridge(worker, versions, ctl, err);
  }

  /** Creates a session from a serialised model (the bytes are transferred: the caller must not reuse them). */
  createSession(bytes: Uint8Array, label: string, optimization = 'all', memArena?: boolean): number {
    const id = this.nextId++;
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    this.request({ op: 'create', id, bytes: owned, optimization, memArena }, [owned.buffer as ArrayBuffer], `creating the ONNX session for ${label}`);
    return id;
  }

  releaseSession(id: number): void {
    if (this.closed || this.failure) return;
    this.post({ op: 'release', id }); // fire and forget: nobody waits for a release
  }

  /** Runs session `id` on the inputs and writes its output `y` (outLength floats) into out[outOffset…]. */
  run(id: number, inputs: readonly RunInput[], outDims: readonly number[], out: Float32Array, outOffset: number, label: string): void {
    const s = stageRun(inputs, outDims, (n) => (this.ensure(n), this.data));
    this.request({ op: 'run', id, inputs: s.specs, output: [s.outAt, outDims] }, [], label);
    out.set(s.data.subarray(s.outAt, s.outAt + s.outLength), outOffset);
  }

  /** The shared data buffer, grown (by replacement) to at least n floats. */
  private ensure(n: number): void {
    const grown = grownBuffer(this.data, n);
    if (grown === this.data) return;
    this.data = grown;
    this.post({ op: 'data', buffer: grown.buffer });
  }

  private post(m: unknown, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  private request(m: { op: string; [k: string]: unknown }, transfer: ArrayBuffer[], label: string): void {
    if (this.closed) throw new Error('engine-onnx: the engine was disposed');
    if (this.failure) throw new Error(`engine-onnx: ${this.failure}`);
    Atomics.store(this.ctl, 0, 0);
    this.post(m, transfer);
    // The worker catches every JavaScript error of a request and answers it; a native crash ends the process.
    awaitAnswer(this.ctl, this.err, label);
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
