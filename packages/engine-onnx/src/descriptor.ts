/**
 * The engine's descriptor, registered in core's default engine registry by `@nextscale/engine-onnx/register`.
 * Installed ⇒ available: `probe` loads onnxruntime-node's native addon and reports why it cannot when it cannot.
 */
import { readSettings } from '@nextscale/core';
import type { OnnxDenseEngine } from './engine.js';
import { createOnnxEngine, loadOrt } from './node.js';
import { VERSION } from './version.js';

export { loadOrt, ORT_VERSION } from './node.js';
export { VERSION };

export interface OnnxEngineOptions {
  /** ONNX Runtime's intra-op threads (default: NEXTSCALE_THREADS through core's settings, else the available cores). */
  threads?: number;
  /** ONNX Runtime's CPU memory arena (default off: one arena per session would keep memory per weight). */
  memArena?: boolean;
  /** Let idle ONNX Runtime threads spin between calls (default off). */
  spinning?: boolean;
  /**
   * Free the model's JavaScript copy of each weight once ONNX Runtime holds it, so the weights are in memory once
   * (default on; NEXTSCALE_ONNX_RELEASE_WEIGHTS=0 turns it off). The pinned weight arrays become empty: a model run
   * on this engine stays on it (switching engines afterwards needs the model loaded again, or this option off).
   */
  releaseWeights?: boolean;
  /**
   * Let ONNX Runtime prepack the linear layers' weights for its GEMM (default on; NEXTSCALE_ONNX_PREPACK=0 turns it
   * off). Without prepacking its MatMul is not batch-invariant (rows differ in the last bits with the row count, which
   * breaks core's edit parity test); with it ONNX Runtime keeps each weight twice (packed and as the initializer):
   * measured at d16, peak RSS 2.90 GiB against 2.67 GiB without.
   */
  prepack?: boolean;
  /**
   * Run each VAR transformer block whole as one ONNX Runtime session (block-graph.ts) where the attention policy routed
   * all its heads to exact CPU attention (default on; NEXTSCALE_ONNX_FUSED_BLOCKS=0 turns it off: the blocks then run
   * op by op, with the attention in the policy's backend).
   */
  fusedBlocks?: boolean;
  /**
   * Run the VQ-VAE's 3×3 convolutions on maps of 64² and more as Winograd F(4×4, 3×3) (feature-net-graph.ts; about
   * half the decoder's time; within ~1e-5 of the direct convolution per layer) with one graph per input size (default
   * on; NEXTSCALE_ONNX_WINOGRAD=0 turns it off: ONNX Runtime's Conv, one graph for every size).
   */
  winograd?: boolean;
}

/** The threads when create() names none: NEXTSCALE_THREADS (core's settings module), else the available cores. */
export function defaultThreads(): number {
  return readSettings().threads ?? availableCores();
}

function availableCores(): number {
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
    'node:os',
  ) as { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
  return os?.availableParallelism?.() ?? os?.cpus().length ?? 1;
}

export const engine = {
  kind: 'engine' as const,
  id: 'onnx',
  package: '@nextscale/engine-onnx',
  version: VERSION,
  apiVersion: 1 as const,
  priority: 20,
  async probe(): Promise<{ available: boolean; reason: string }> {
    const r = await loadOrt();
    if (!r.ok) return { available: false, reason: r.reason };
    return {
      available: true,
      reason: `onnxruntime-node ${r.version}, CPU execution provider, ${defaultThreads()} threads`,
    };
  },
  async create(options: OnnxEngineOptions & Record<string, unknown> = {}): Promise<OnnxDenseEngine> {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`engine-onnx: threads must be a positive integer, got ${String(threads)}`);
    const settings = readSettings();
    const releaseWeights = options.releaseWeights ?? settings.onnxReleaseWeights ?? true;
    const prepack = options.prepack ?? settings.onnxPrepack ?? true;
    const fusedBlocks = options.fusedBlocks ?? settings.onnxFusedBlocks ?? true;
    const winograd = options.winograd ?? settings.onnxWinograd ?? true;
    return createOnnxEngine({
      threads,
      memArena: options.memArena,
      spinning: options.spinning,
      prepack,
      releaseWeights,
      fusedBlocks,
      winograd,
    });
  },
};
