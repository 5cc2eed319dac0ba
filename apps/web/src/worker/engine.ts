/**
 * The dense engine the worker computes with. 'wasm' is @nextscale/engine-wasm's WebAssembly SIMD engine on this thread with
 * plain multiply-add, as the CLI runs in Node 20: Chromium also offers relaxed SIMD, whose fused
 * multiply-add rounds differently, so it is turned off here for the page to write the CLI's pixels.
 * 'js' is core's plain TypeScript reference.
 */
import { createWasmElementwiseEngine, createWasmGemmEngine } from '@nextscale/engine-wasm';
import {
  jsGemmEngine,
  setElementwiseEngine,
  setGemmEngine,
  type ElementwiseEngine,
  type GemmEngine,
} from '@nextscale/core';
import type { EngineId } from '../protocol.js';

let wasm: { gemm: GemmEngine; elementwise: ElementwiseEngine } | undefined;

/** Makes `id` the current engine and returns its name; refuses wasm where SIMD is missing (no silent fallback). */
export function useEngine(id: EngineId, simd: boolean): string {
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
