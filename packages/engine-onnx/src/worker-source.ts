/**
 * The worker thread that owns every ONNX Runtime session. It is plain JavaScript run with `eval: true` (no file to
 * locate next to the bundle); `workerData.ortPath` is onnxruntime-node's entry, resolved by the calling thread.
 *
 * Protocol (see bridge.ts): each message is one request; the worker answers by writing into the control block
 * `ctl` (Int32Array on a SharedArrayBuffer) and notifying: ctl[0] = 1 done, 2 failed (the message, UTF-8, in `err`,
 * its byte length in ctl[1]). Tensors live in the shared data buffer: inputs are read from it and outputs written
 * into it, at float offsets given in the request.
 */
export function workerSource(): string {
  return String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const ctl = workerData.ctl;
const err = new Uint8Array(workerData.err);
const sessions = new Map();
let data = null;
const options = {
  executionProviders: ['cpu'],
  intraOpNumThreads: workerData.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: workerData.memArena,
  enableMemPattern: false,
  extra: { session: { intra_op: { allow_spinning: workerData.spinning ? '1' : '0' }, disable_prepacking: workerData.prepack ? '0' : '1' } },
};
function finish(code, message) {
  if (code === 2) {
    const bytes = new TextEncoder().encode(message).subarray(0, err.length);
    err.set(bytes);
    Atomics.store(ctl, 1, bytes.length);
  }
  Atomics.store(ctl, 0, code);
  Atomics.notify(ctl, 0);
}
const view = (off, n) => new Float32Array(data, off * 4, n);
const count = (dims) => dims.reduce((a, b) => a * b, 1);
async function handle(m) {
  switch (m.op) {
    case 'data':
      data = m.buffer;
      return;
    case 'create': {
      sessions.set(m.id, await ort.InferenceSession.create(m.bytes, { ...options, graphOptimizationLevel: m.optimization, enableCpuMemArena: m.memArena ?? options.enableCpuMemArena }));
      return;
    }
    case 'release': {
      const s = sessions.get(m.id);
      sessions.delete(m.id);
      if (s) await s.release();
      return;
    }
    case 'run': {
      const s = sessions.get(m.id);
      if (!s) throw new Error('no session ' + m.id);
      const feeds = {};
      // onnxruntime-node rejects tensors over a SharedArrayBuffer ("Invalid argument"): inputs are copied out of it
      for (const [name, off, dims] of m.inputs) feeds[name] = new ort.Tensor('float32', view(off, count(dims)).slice(), dims);
      const [off, dims] = m.output;
      const out = (await s.run(feeds)).y;
      const n = count(dims);
      if (out.data.length !== n) throw new Error('output has ' + out.data.length + ' values, expected ' + n);
      view(off, n).set(out.data);
      out.dispose?.();
      return;
    }
    default:
      throw new Error('unknown request ' + m.op);
  }
}
// Messages run one after another (a request's successor waits for it), and only requests the caller blocks on
// ('create', 'run') answer through the control block: 'data' and 'release' are fire-and-forget.
let queue = Promise.resolve();
parentPort.on('message', (m) => {
  const answer = m.op === 'create' || m.op === 'run';
  queue = queue.then(() => handle(m)).then(
    () => answer && finish(1),
    (e) => (answer ? finish(2, String((e && e.message) || e)) : console.error('engine-onnx worker: ' + String(e))),
  );
});
parentPort.postMessage({ ready: true, versions: ort.env.versions });
`;
}
