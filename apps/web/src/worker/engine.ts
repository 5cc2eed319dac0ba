/**
 * The dense engine the worker computes with, chosen the way Node chooses it: the engine packages' descriptors in an
 * engine registry (core's 'js' reference is in every one), and core's selectEngine, which refuses an engine that
 * cannot run here (never a silent fallback) and reuses an engine it created before.
 *
 * 'wasm' is @nextscale/engine-wasm's WebAssembly SIMD engine on this thread with plain multiply-add, as the CLI runs in
 * Node 20: Chromium also offers relaxed SIMD, whose fused multiply-add rounds differently, so it is turned off here
 * for the page to write the CLI's pixels. 'js' is core's plain TypeScript reference. 'onnx' and 'onnx-webgpu' are
 * @nextscale/engine-onnx's graphs on onnxruntime-web (wasm or WebGPU execution provider), awaited in this worker on
 * ORT_THREADS threads; its files are the app's own copies (dist/ort/).
 */
import { engine as wasmEngine } from '@nextscale/engine-wasm';
import { engine as onnxEngine } from '@nextscale/engine-onnx/browser';
import { createEngineRegistry, selectEngine, setDenseEngine } from '@nextscale/core';
import type { EngineId } from '../protocol.js';

const registry = createEngineRegistry();
registry.register(wasmEngine);
registry.register(onnxEngine);

/**
 * onnxruntime-web's wasm threads: the cores the browser reports, at most 8 (its GEMMs gain little beyond that, and the
 * rest stay free for the page and the attention backends).
 */
export const ORT_THREADS = Math.min(8, Math.max(1, Math.floor(globalThis.navigator?.hardwareConcurrency ?? 1)));

/** Makes `id` the current engine and returns its name; refuses wasm where SIMD is missing (no silent fallback). */
export async function useEngine(id: EngineId, simd: boolean, ortBase: string): Promise<string> {
  if (id === 'wasm' && !simd)
    throw new Error(
      'the WebAssembly engine needs WebAssembly SIMD, which this browser lacks: choose the TypeScript engine, or update the browser',
    );
  const { engine } =
    id === 'onnx' || id === 'onnx-webgpu'
      ? await selectEngine({
          registry,
          engine: 'onnx',
          env: {},
          createOptions: {
            wasmPaths: ortBase,
            executionProvider: id === 'onnx' ? 'wasm' : 'webgpu',
            threads: ORT_THREADS,
          },
        })
      : await selectEngine({
          registry,
          engine: id,
          env: {},
          ...(id === 'wasm' ? { threads: 1, createOptions: { relaxed: false } } : {}),
        });
  setDenseEngine(engine);
  return engine.name;
}
