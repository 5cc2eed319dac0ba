/**
 * How the engine's ONNX Runtime sessions are made, in one place for both runtimes: onnxruntime-node's CPU execution
 * provider (threads, arena, spinning, prepacking) and onnxruntime-web's wasm / WebGPU providers (where its .wasm is
 * served, its threads). Extend here (execution-provider lists, web threads), not at the call sites.
 */

/** onnxruntime-node's CPU provider settings (absent on the web). */
export interface CpuSettings {
  /** Intra-op threads. */
  threads: number;
  /** ONNX Runtime's CPU memory arena (a session's graph may override it: GraphModel.memArena). */
  memArena: boolean;
  /** Let idle pool threads spin between calls. */
  spinning: boolean;
  /** Prepack constant MatMul weights (batch-invariant MatMul). */
  prepack: boolean;
}

export interface SessionSettings {
  /** Execution providers in order of preference: ['cpu'] in Node, ['wasm'] or ['webgpu'] on the web. */
  executionProviders: readonly string[];
  cpu?: CpuSettings;
}

/** One session's options: the engine's settings and what its graph asks for (optimization level, arena). */
export function sessionOptions(s: SessionSettings, graph: { optimization: string; memArena?: boolean }): Record<string, unknown> {
  const options: Record<string, unknown> = { executionProviders: [...s.executionProviders], graphOptimizationLevel: graph.optimization };
  if (!s.cpu) return options;
  return {
    ...options,
    intraOpNumThreads: s.cpu.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: graph.memArena ?? s.cpu.memArena,
    enableMemPattern: false,
    extra: { session: { intra_op: { allow_spinning: s.cpu.spinning ? '1' : '0' }, disable_prepacking: s.cpu.prepack ? '0' : '1' } },
  };
}

/** onnxruntime-web's .wasm for its webgpu bundle (wasm and WebGPU execution providers); browser.ts's ORT_WEB_WASM_FILES. */
export const ORT_WEB_WASM_FILE = 'ort-wasm-simd-threaded.asyncify.wasm';

/** The part of onnxruntime-web's `env` configured here. */
export interface OrtWebEnv {
  wasm: { wasmPaths?: unknown; numThreads?: number; proxy?: boolean };
}

/**
 * onnxruntime-web's process-wide settings for the engine: only its .wasm is fetched, from `wasmBase` (its JavaScript
 * glue is inside onnxruntime-web's bundle; a bare prefix would make it import the glue's .mjs from there too); one
 * thread (more needs a cross-origin-isolated page); no proxy worker (the engine runs in the app's generation worker
 * and awaits ONNX Runtime there).
 */
export function configureOrtWeb(env: OrtWebEnv, wasmBase: string): void {
  env.wasm.wasmPaths = { wasm: new URL(ORT_WEB_WASM_FILE, wasmBase).href };
  env.wasm.numThreads = 1;
  env.wasm.proxy = false;
}
