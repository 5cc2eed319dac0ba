/**
 * The browser's OrtBridge: the same synchronous surface (bridge-contract.ts) over onnxruntime-web's asynchronous API.
 * The sessions live in a nested module Worker (ort-worker.ts); a call copies its inputs into a SharedArrayBuffer,
 * posts the request and blocks in Atomics.wait until that worker has written the output. Blocking is allowed in a
 * dedicated worker, not on the page's main thread, so the engine is created and used in the app's generation worker,
 * and SharedArrayBuffer needs the page to be cross-origin isolated (COOP same-origin + COEP require-corp).
 */
import { awaitAnswer, grownBuffer, stageRun, type OnnxBridge, type RunInput } from './bridge-contract.js';
import type { InitRequest } from './ort-worker.js';
import type { OrtWebStarted } from './web-session.js';

const ERR_BYTES = 4096;

/** The part of a Worker the bridge uses (a test can hand it another thread's port). */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  terminate(): void;
}

export interface WebBridgeOptions {
  /** Where the app serves onnxruntime-web's .wasm (a URL prefix ending in '/', resolved against the page's location). */
  wasmPaths: string;
  /** 'wasm' (default) or 'webgpu' (refused at start-up when the browser gives no adapter). */
  executionProvider?: 'wasm' | 'webgpu';
  /** onnxruntime-web's wasm threads (default 1; it runs on one where the page is not cross-origin isolated). */
  threads?: number;
  /** The worker that owns the sessions (default: this package's ort-worker module). */
  worker?: () => WorkerLike;
  /** How long one blocked call waits for ONNX Runtime before it gives up (default 5 minutes). */
  timeoutMs?: number;
}

export class WebOrtBridge implements OnnxBridge {
  private data = new Float32Array(new SharedArrayBuffer(4 << 20));
  private nextId = 1;
  private closed = false;
  private failure: string | null = null;
  readonly runtime: string;

  private constructor(
    private readonly worker: WorkerLike,
    readonly versions: Record<string, string>,
    readonly executionProvider: 'wasm' | 'webgpu',
    /** What onnxruntime-web was actually started with: its thread count and WebGPU adapter. */
    readonly started: OrtWebStarted,
    private readonly ctl: Int32Array,
    private readonly err: SharedArrayBuffer,
    private readonly timeoutMs: number,
  ) {
    this.runtime = `onnxruntime-web ${versions.web ?? '?'} ${executionProvider}${started.adapter ? ` on ${started.adapter}` : ''}`;
    worker.onerror = (e) => (this.failure = `the ONNX Runtime worker failed: ${e.message}`);
    this.post({ op: 'data', buffer: this.data.buffer });
  }

  /** Starts the worker and waits until onnxruntime-web has loaded and run a graph in it (rejects with why not). */
  static async start(o: WebBridgeOptions): Promise<WebOrtBridge> {
    if (typeof SharedArrayBuffer === 'undefined' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
      throw new Error('engine-onnx: onnxruntime-web needs SharedArrayBuffer: serve the page cross-origin isolated (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)');
    }
    const ep = o.executionProvider ?? 'wasm';
    const ctl = new Int32Array(new SharedArrayBuffer(16));
    const err = new SharedArrayBuffer(ERR_BYTES);
    const worker = o.worker?.() ?? (new Worker(new URL('./ort-worker.js', import.meta.url), { type: 'module', name: 'onnxruntime-web' }) as WorkerLike);
    const wasmPaths = new URL(o.wasmPaths, (globalThis as { location?: { href: string } }).location?.href).href;
    const init: InitRequest = { op: 'init', ctl, err, wasmPaths, executionProvider: ep, threads: o.threads };
    let ready: OrtWebStarted & { versions?: Record<string, string> };
    try {
      ready = await new Promise((resolve, reject) => {
        worker.onmessage = (ev) => {
          const m = ev.data as OrtWebStarted & { ready?: boolean; versions?: Record<string, string>; failed?: string };
          if (m.ready) resolve(m);
          else reject(new Error(m.failed ?? 'unknown failure'));
        };
        worker.onerror = (e) => {
          e.preventDefault?.();
          reject(new Error(e.message || 'its script failed to load'));
        };
        worker.postMessage(init);
      });
    } catch (e) {
      worker.terminate();
      throw new Error(`engine-onnx: onnxruntime-web failed to start (${ep} execution provider, .wasm from ${wasmPaths}): ${(e as Error).message}`);
    }
    worker.onmessage = null;
    return new WebOrtBridge(worker, ready.versions ?? {}, ep, { threads: ready.threads ?? 1, adapter: ready.adapter }, ctl, err, o.timeoutMs ?? 300_000);
  }

  createSession(bytes: Uint8Array, label: string, optimization = 'all'): number {
    const id = this.nextId++;
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    this.request({ op: 'create', id, bytes: owned, optimization }, [owned.buffer as ArrayBuffer], `creating the ONNX session for ${label}`);
    return id;
  }

  releaseSession(id: number): void {
    if (this.closed || this.failure) return;
    this.post({ op: 'release', id });
  }

  run(id: number, inputs: readonly RunInput[], outDims: readonly number[], out: Float32Array, outOffset: number, label: string): void {
    const s = stageRun(inputs, outDims, (n) => (this.ensure(n), this.data));
    this.request({ op: 'run', id, inputs: s.specs, output: [s.outAt, outDims] }, [], label);
    out.set(s.data.subarray(s.outAt, s.outAt + s.outLength), outOffset);
  }

  private ensure(n: number): void {
    const grown = grownBuffer(this.data, n);
    if (grown === this.data) return;
    this.data = grown;
    this.post({ op: 'data', buffer: grown.buffer });
  }

  private post(m: unknown, transfer: Transferable[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  private request(m: { op: string; [k: string]: unknown }, transfer: Transferable[], label: string): void {
    if (this.closed) throw new Error('engine-onnx: the engine was disposed');
    if (this.failure) throw new Error(`engine-onnx: ${this.failure}`);
    Atomics.store(this.ctl, 0, 0);
    this.post(m, transfer);
    if (!awaitAnswer(this.ctl, this.err, label, this.timeoutMs)) {
      this.failure = `onnxruntime-web did not answer within ${this.timeoutMs / 1000} s (${label})`;
      throw new Error(`engine-onnx: ${this.failure}`);
    }
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.terminate();
  }
}
