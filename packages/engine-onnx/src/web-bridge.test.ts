/**
 * WebOrtBridge's logic in Node: the bridge (blocking in Atomics.wait on this thread) against its sessions' side
 * (createOrtServer, from the built browser entry) in a node worker thread, with onnxruntime-node standing in for
 * onnxruntime-web (the same InferenceSession/Tensor API). The engine on it must compute exactly what the engine on
 * OrtBridge computes (same ONNX Runtime, same graphs), including calls larger than the initial shared buffer.
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxDenseEngine } from './engine.js';
import { resolveOrt } from './bridge.js';
import { WebOrtBridge, type WorkerLike } from './web-bridge.js';

const BROWSER_DIST = pathToFileURL(path.join(fileURLToPath(new URL('..', import.meta.url)), 'dist/browser.js')).href;

/** A node worker thread serving the bridge's protocol; `failInit` makes its start-up fail as a missing .wasm would. */
function nodeServer(failInit = false): WorkerLike {
  // eval'd CommonJS (Node 20's Worker takes no data: URL); the port queues messages until the listener is added
  const source = `
    const { parentPort } = require('node:worker_threads');
    const ort = require(${JSON.stringify(resolveOrt())});
    import(${JSON.stringify(BROWSER_DIST)}).then(({ createOrtServer }) => {
    let serve = null;
    parentPort.on('message', (m) => {
      if (m.op !== 'init') return serve(m);
      if (${failInit}) return parentPort.postMessage({ failed: 'no .wasm at ' + m.wasmPaths });
      serve = createOrtServer(ort, m.ctl, m.err, 'cpu');
      parentPort.postMessage({ ready: true, versions: { web: 'node-' + ort.env.versions.node } });
    });
    });`;
  const w = new Worker(source, { eval: true });
  const like: WorkerLike = {
    postMessage: (m, t) => w.postMessage(m, t as never),
    onmessage: null,
    onerror: null,
    terminate: () => void w.terminate(),
  };
  w.on('message', (data) => like.onmessage?.({ data } as MessageEvent));
  w.on('error', (e) => like.onerror?.({ message: String(e) } as ErrorEvent));
  return like;
}

const engines: OnnxDenseEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.dispose();
});

describe('WebOrtBridge (its protocol, on onnxruntime-node in a node worker thread)', () => {
  it('linear, conv2d and a call over the initial 4 MiB buffer give exactly the OrtBridge engine’s values; the name says runtime and EP', async () => {
    const web = new OnnxDenseEngine(await WebOrtBridge.start({ wasmPaths: 'http://app.test/ort/', worker: () => nodeServer() }), 1, false);
    const node = await OnnxDenseEngine.create({ threads: 1, releaseWeights: false });
    engines.push(web, node);
    expect(web.name).toBe(`onnxruntime-web node-${node.name.split(' ')[1]} wasm (1 thread)`);

    const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
    const w = rnd(24 * 16, 1);
    const b = rnd(24, 2);
    const x = rnd(5 * 16, 3);
    const [y1, y2] = [new Float32Array(5 * 24), new Float32Array(5 * 24)];
    web.linear(x, 5, 16, w, 24, b, y1);
    node.linear(x, 5, 16, w, 24, b, y2);
    expect(y1).toEqual(y2);
    expect(y1.some((v) => v !== 0)).toBe(true);

    const cw = rnd(4 * 3 * 3 * 3, 4);
    const cx = rnd(2 * 3 * 8 * 8, 5);
    const conv = (e: OnnxDenseEngine) => {
      const y = new Float32Array(2 * 4 * 8 * 8);
      e.conv2d({ x: cx, batch: 2, inChannels: 3, height: 8, width: 8, weight: cw, outChannels: 4, kernelH: 3, kernelW: 3, bias: null, strideH: 1, strideW: 1, padH: 1, padW: 1, y, outH: 8, outW: 8 });
      return y;
    };
    expect(conv(web)).toEqual(conv(node));

    const n = 1_500_000; // 6 MB in, 6 MB out: the shared buffer is replaced by a larger one
    const big = rnd(n, 6);
    const [s1, s2] = [new Float32Array(n), new Float32Array(n)];
    web.silu(big, s1, n);
    node.silu(big, s2, n);
    expect(s1).toEqual(s2);
  });

  it('a failed start rejects with one message naming the EP and where the .wasm was looked for', async () => {
    await expect(WebOrtBridge.start({ wasmPaths: 'http://app.test/ort/', worker: () => nodeServer(true) })).rejects.toThrow(
      'engine-onnx: onnxruntime-web failed to start (wasm execution provider, .wasm from http://app.test/ort/): no .wasm at http://app.test/ort/',
    );
  });

  it("ONNX Runtime's error in a run is the caller's exception, with the op's label", async () => {
    const bridge = await WebOrtBridge.start({ wasmPaths: 'http://app.test/ort/', worker: () => nodeServer() });
    try {
      expect(() => bridge.run(99, [{ name: 'x', data: new Float32Array(2), dims: [2] }], [2], new Float32Array(2), 0, 'silu')).toThrow(
        'engine-onnx: ONNX Runtime failed silu: no session 99',
      );
    } finally {
      await bridge.dispose();
    }
    expect(() => bridge.run(1, [], [1], new Float32Array(1), 0, 'x')).toThrow('engine-onnx: the engine was disposed');
  });
});
