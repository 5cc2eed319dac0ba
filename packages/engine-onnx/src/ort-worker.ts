/**
 * The nested module Worker that owns the onnxruntime-web sessions (started by WebOrtBridge from the generation
 * worker, which blocks in Atomics.wait while this one runs). Its first message is 'init': it configures
 * onnxruntime-web (web-session.ts: the app's own files, its threads, the WebGPU adapter) and answers
 * { ready, versions, threads, adapter } or { failed }.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { createOrtServer, type OrtLike, type ServerRequest } from './ort-server.js';
import { startOrtWeb, type OrtWebLike, type OrtWebSetup, type OrtWebStarted } from './web-session.js';

export interface InitRequest extends OrtWebSetup {
  op: 'init';
  ctl: Int32Array;
  err: SharedArrayBuffer;
}

const scope = self as unknown as { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown): void };
let serve: ((m: ServerRequest) => void) | null = null;

async function init(m: InitRequest): Promise<OrtWebStarted> {
  const started = await startOrtWeb(ort as unknown as OrtWebLike, m);
  serve = createOrtServer(ort as unknown as OrtLike, m.ctl, m.err, m.executionProvider);
  return started;
}

scope.onmessage = (ev: MessageEvent) => {
  const m = ev.data as InitRequest | ServerRequest;
  if (m.op === 'init') {
    init(m).then(
      (started) => scope.postMessage({ ready: true, versions: { ...ort.env.versions }, ...started }),
      (e: unknown) => scope.postMessage({ failed: String((e as Error)?.message ?? e) }),
    );
    return;
  }
  serve?.(m);
};
