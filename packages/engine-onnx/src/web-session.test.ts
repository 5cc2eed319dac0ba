/**
 * startOrtWeb's settings, with onnxruntime-node standing in for onnxruntime-web (same InferenceSession/Tensor API) and
 * a stand-in env: the app's own files for the .wasm and the threads' glue, the thread count, the adapter's name, and
 * the refusals when WebGPU is asked for where there is none.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveOrt } from './node.js';
import { adapterName, startOrtWeb, type OrtWebLike } from './web-session.js';

const node = createRequire(import.meta.url)(resolveOrt()) as OrtWebLike;
// onnxruntime-node's CPU provider runs what onnxruntime-web's 'wasm' would; it has no 'webgpu'
const InferenceSession = {
  create: (bytes: Uint8Array, o: Record<string, unknown>) =>
    node.InferenceSession.create(bytes, {
      ...o,
      executionProviders: (o.executionProviders as string[]).map((p) => (p === 'wasm' ? 'cpu' : p)),
    }),
};
const fakeOrt = () =>
  ({ ...node, InferenceSession, env: { wasm: {}, webgpu: {} } }) as OrtWebLike & {
    env: { wasm: Record<string, unknown>; webgpu: Record<string, unknown> };
  };

afterEach(() => vi.unstubAllGlobals());

describe('startOrtWeb', () => {
  it("points onnxruntime-web at the app's .wasm and glue .mjs, asks for the threads and reports them", async () => {
    const ort = fakeOrt();
    const started = await startOrtWeb(ort, {
      wasmPaths: 'https://app.example/ort/',
      threads: 4.7,
      executionProvider: 'wasm',
    });
    expect(ort.env.wasm.wasmPaths).toEqual({
      wasm: 'https://app.example/ort/ort-wasm-simd-threaded.asyncify.wasm',
      mjs: 'https://app.example/ort/ort-wasm-simd-threaded.asyncify.mjs',
    });
    expect(ort.env.wasm.proxy).toBe(false);
    expect(started).toEqual({ threads: 4 });
    expect(
      (await startOrtWeb(fakeOrt(), { wasmPaths: 'https://app.example/ort/', threads: 0, executionProvider: 'wasm' }))
        .threads,
    ).toBe(1);
  });

  it('refuses WebGPU with the reason: no navigator.gpu, or no adapter', async () => {
    vi.stubGlobal('navigator', {});
    await expect(startOrtWeb(fakeOrt(), { wasmPaths: 'https://a/', executionProvider: 'webgpu' })).rejects.toThrow(
      /no WebGPU \(navigator\.gpu is missing/,
    );
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    await expect(startOrtWeb(fakeOrt(), { wasmPaths: 'https://a/', executionProvider: 'webgpu' })).rejects.toThrow(
      /no WebGPU adapter/,
    );
  });

  it('hands onnxruntime-web the adapter it names', async () => {
    const adapter = {
      info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)' },
    };
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => adapter } });
    const ort = fakeOrt();
    // onnxruntime-node has no 'webgpu' execution provider: the start-up graph fails after the adapter is chosen
    await expect(startOrtWeb(ort, { wasmPaths: 'https://a/', executionProvider: 'webgpu' })).rejects.toThrow();
    expect(ort.env.webgpu.adapter).toBe(adapter);
    expect(adapterName(adapter)).toBe('SwiftShader Device (Subzero)');
    expect(adapterName({ info: { vendor: 'nvidia', architecture: 'hopper' } })).toBe('nvidia hopper');
    expect(adapterName({})).toBe('an unnamed adapter');
  });
});
