/**
 * The dense engine the worker computes with. 'wasm' is @nextscale/engine-wasm's WebAssembly SIMD engine on this thread with
 * plain multiply-add, as the CLI runs in Node 20: Chromium also offers relaxed SIMD, whose fused
 * multiply-add rounds differently, so it is turned off here for the page to write the CLI's pixels.
 * 'js' is core's plain TypeScript reference. 'onnx' and 'onnx-webgpu' are @nextscale/engine-onnx's graphs on
 * onnxruntime-web (wasm or WebGPU execution provider), awaited in this worker; its .wasm is the app's own copy
 * (dist/ort/). A failure to start it is the generation's error: never a silent fall back to wasm.
 */
import { createWasmDenseEngine, type WasmDenseEngine } from '@nextscale/engine-wasm';
import { createWebOnnxEngine, type OnnxDenseEngine } from '@nextscale/engine-onnx/browser';
import { jsGemmEngine, setDenseEngine } from '@nextscale/core';
import type { EngineId } from '../protocol.js';

let wasm: WasmDenseEngine | undefined;
/** One onnxruntime-web engine per execution provider, started on first use (a failed start is retried next time). */
const onnx = new Map<'wasm' | 'webgpu', Promise<OnnxDenseEngine>>();

/** Makes `id` the current engine and returns its name; refuses wasm where SIMD is missing (no silent fallback). */
export async function useEngine(id: EngineId, simd: boolean, ortBase: string): Promise<string> {
  if (id === 'onnx' || id === 'onnx-webgpu') {
    const ep = id === 'onnx' ? 'wasm' : 'webgpu';
    let started = onnx.get(ep);
    if (!started) onnx.set(ep, (started = createWebOnnxEngine({ wasmPaths: ortBase, executionProvider: ep })));
    let engine: OnnxDenseEngine;
    try {
      engine = await started;
    } catch (err) {
      onnx.delete(ep);
      throw err;
    }
    setDenseEngine(engine);
    return engine.name;
  }
  setDenseEngine(null);
  if (id === 'wasm') {
    if (!simd) throw new Error('the WebAssembly engine needs WebAssembly SIMD, which this browser lacks: choose the TypeScript engine, or update the browser');
    wasm ??= createWasmDenseEngine({ threads: 1, relaxed: false });
    setDenseEngine(wasm);
    return wasm.name;
  }
  return jsGemmEngine.name;
}
