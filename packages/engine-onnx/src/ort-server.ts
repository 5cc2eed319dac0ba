/**
 * The sessions' side of WebOrtBridge, apart from where it runs: given an ONNX Runtime module (onnxruntime-web in the
 * browser's nested worker; any module with the same InferenceSession/Tensor API), it serves the bridge's requests.
 *
 * Protocol (as worker-source.ts's for onnxruntime-node): each message is one request, run one after another; the
 * requests the caller blocks on ('create', 'run') are answered through the control block `ctl` (Int32Array on a
 * SharedArrayBuffer): ctl[0] = 1 done, 2 failed (the message, UTF-8, in `err`, its byte length in ctl[1]), then
 * Atomics.notify. Tensors live in the shared data buffer, at float offsets given in the request.
 */
import { sessionOptions } from './web-session.js';

/** The part of onnxruntime-web's (and onnxruntime-common's) API this uses. */
export interface OrtLike {
  InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<SessionLike> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}
interface SessionLike {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dispose?: () => void }>>;
  release(): Promise<void>;
}

export type ServerRequest =
  | { op: 'data'; buffer: SharedArrayBuffer }
  | { op: 'create'; id: number; bytes: Uint8Array; optimization: string }
  | { op: 'release'; id: number }
  | { op: 'run'; id: number; inputs: [string, number, readonly number[]][]; output: [number, readonly number[]] };

export function createOrtServer(ort: OrtLike, ctl: Int32Array, errBuffer: SharedArrayBuffer, executionProvider: string): (m: ServerRequest) => void {
  const err = new Uint8Array(errBuffer);
  const sessions = new Map<number, SessionLike>();
  let data: SharedArrayBuffer | null = null;
  const finish = (code: 1 | 2, message = '') => {
    if (code === 2) {
      const bytes = new TextEncoder().encode(message).subarray(0, err.length);
      err.set(bytes);
      Atomics.store(ctl, 1, bytes.length);
    }
    Atomics.store(ctl, 0, code);
    Atomics.notify(ctl, 0);
  };
  const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  const view = (off: number, n: number) => {
    if (!data) throw new Error('no data buffer');
    return new Float32Array(data, off * 4, n);
  };
  async function handle(m: ServerRequest): Promise<void> {
    switch (m.op) {
      case 'data':
        data = m.buffer;
        return;
      case 'create':
        sessions.set(m.id, await ort.InferenceSession.create(m.bytes, sessionOptions(executionProvider, m.optimization)));
        return;
      case 'release': {
        const s = sessions.get(m.id);
        sessions.delete(m.id);
        if (s) await s.release();
        return;
      }
      case 'run': {
        const s = sessions.get(m.id);
        if (!s) throw new Error(`no session ${m.id}`);
        const feeds: Record<string, unknown> = {};
        // tensors get their own copy: the shared buffer is rewritten by the next request
        for (const [name, off, dims] of m.inputs) feeds[name] = new ort.Tensor('float32', view(off, count(dims)).slice(), dims);
        const [off, dims] = m.output;
        const out = (await s.run(feeds)).y;
        if (!out) throw new Error('the graph has no output y');
        const values = out.data as Float32Array;
        const n = count(dims);
        if (values.length !== n) throw new Error(`output has ${values.length} values, expected ${n}`);
        view(off, n).set(values);
        out.dispose?.();
        return;
      }
    }
  }
  let queue: Promise<void> = Promise.resolve();
  return (m) => {
    const answer = m.op === 'create' || m.op === 'run';
    queue = queue.then(() => handle(m)).then(
      () => void (answer && finish(1)),
      (e: unknown) => {
        const message = String((e as Error)?.message ?? e);
        if (answer) finish(2, message);
        else console.error(`engine-onnx worker: ${message}`);
      },
    );
  };
}
