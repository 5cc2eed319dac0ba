/**
 * How the engine's ONNX Runtime sessions are made, in one place for both runtimes: onnxruntime-node's CPU execution
 * provider (threads, arena, spinning, prepacking) and onnxruntime-web's wasm / WebGPU providers (where its .wasm is
 * served, its threads). Extend here (execution-provider lists, web threads), not at the call sites.
 */
import type { ExternalData } from './onnx-proto.js';

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
export function sessionOptions(
  s: SessionSettings,
  graph: { optimization: string; memArena?: boolean; externalData?: readonly ExternalData[] },
): Record<string, unknown> {
  const options: Record<string, unknown> = {
    executionProviders: [...s.executionProviders],
    graphOptimizationLevel: graph.optimization,
    ...(graph.externalData?.length ? { externalData: graph.externalData } : {}),
  };
  // onnxruntime-web (web-session.ts sets up its files, threads and adapter): errors only in its log (its warnings, e.g.
  // that WebGPU sessions keep shape ops on the CPU by design, would reach the console as errors); idle threads sleep
  if (!s.cpu) return { ...options, logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } } };
  return {
    ...options,
    intraOpNumThreads: s.cpu.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: graph.memArena ?? s.cpu.memArena,
    enableMemPattern: false,
    extra: {
      session: {
        intra_op: { allow_spinning: s.cpu.spinning ? '1' : '0' },
        disable_prepacking: s.cpu.prepack ? '0' : '1',
      },
    },
  };
}
