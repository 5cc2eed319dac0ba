/**
 * The dense engine the worker computes with. 'wasm' is @nextscale/engine-wasm's WebAssembly SIMD engine on this thread with
 * plain multiply-add, as the CLI runs in Node 20: Chromium also offers relaxed SIMD, whose fused
 * multiply-add rounds differently, so it is turned off here for the page to write the CLI's pixels.
 * 'js' is core's plain TypeScript reference. 'onnx' and 'onnx-webgpu' are @nextscale/engine-onnx's graphs on
 * onnxruntime-web (wasm or WebGPU execution provider) in a nested worker that this one blocks on; its .wasm is the
 * app's own copy (dist/ort/), on ORT_THREADS threads. A failure to start it is the generation's error: never a silent
 * fall back to wasm.
 */
import { createWasmElementwiseEngine, createWasmGemmEngine } from '@nextscale/engine-wasm';
import { createWebOnnxEngine, type OnnxDenseEngine } from '@nextscale/engine-onnx/browser';
import {
  jsGemmEngine,
  setDenseEngine,
  setElementwiseEngine,
  setGemmEngine,
  type ElementwiseEngine,
  type GemmEngine,
} from '@nextscale/core';
import type { EngineId } from '../protocol.js';

let wasm: { gemm: GemmEngine; elementwise: ElementwiseEngine } | undefined;
/**
 * onnxruntime-web's wasm threads: the cores the browser reports, at most 8 (its GEMMs gain little beyond that, and the
 * rest stay free for the page and the attention backends).
 */
export const ORT_THREADS = Math.min(8, Math.max(1, Math.floor(globalThis.navigator?.hardwareConcurrency ?? 1)));

/** One onnxruntime-web engine per execution provider, started on first use (a failed start is retried next time). */
const onnx = new Map<'wasm' | 'webgpu', Promise<OnnxDenseEngine>>();

/** Makes `id` the current engine and returns its name; refuses wasm where SIMD is missing (no silent fallback). */
export async function useEngine(id: EngineId, simd: boolean, ortBase: string): Promise<string> {
  if (id === 'onnx' || id === 'onnx-webgpu') {
    const ep = id === 'onnx' ? 'wasm' : 'webgpu';
    let started = onnx.get(ep);
    if (!started) onnx.set(ep, (started = createWebOnnxEngine({ wasmPaths: ortBase, executionProvider: ep, threads: ORT_THREADS })));
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
    wasm ??= { gemm: createWasmGemmEngine({ threads: 1, relaxed: false }), elementwise: createWasmElementwiseEngine({ relaxed: false }) };
    setGemmEngine(wasm.gemm);
    setElementwiseEngine(wasm.elementwise);
    return wasm.gemm.name;
  }
  setGemmEngine(jsGemmEngine);
  setElementwiseEngine(null);
  return jsGemmEngine.name;
}
