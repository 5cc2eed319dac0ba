/**
 * The engine's descriptor, registered in core's default engine registry by `@nextscale/engine-onnx/register`.
 * Installed ⇒ available: `probe` loads onnxruntime-node's native addon and reports why it cannot when it cannot.
 */
import type { OnnxDenseEngine } from './engine.js';
import { createOnnxEngine, loadOrt } from './node.js';

export { loadOrt, ORT_VERSION } from './node.js';

export const VERSION = '0.1.0';

export interface OnnxEngineOptions {
  /** ONNX Runtime's intra-op threads (default: NEXTSCALE_THREADS, else the available cores). */
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
}

const env_ = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];

export function defaultThreads(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NEXTSCALE_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`NEXTSCALE_THREADS must be a positive integer, got ${JSON.stringify(env)}`);
    return n;
  }
  return availableCores();
}

function availableCores(): number {
  const os = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:os') as
    | { availableParallelism?: () => number; cpus: () => unknown[] }
    | undefined;
  return os?.availableParallelism?.() ?? os?.cpus().length ?? 1;
}

export const engine = {
  id: 'onnx',
  packageName: '@nextscale/engine-onnx',
  version: VERSION,
  apiVersion: 1 as const,
  priority: 20,
  async probe(): Promise<{ available: boolean; reason?: string; detail?: string }> {
    const r = await loadOrt();
    if (!r.ok) return { available: false, reason: r.reason };
    return { available: true, reason: `onnxruntime-node ${r.version}, CPU execution provider`, detail: `threads ${defaultThreads()}` };
  },
  async create(options: OnnxEngineOptions & Record<string, unknown> = {}): Promise<OnnxDenseEngine> {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`engine-onnx: threads must be a positive integer, got ${String(threads)}`);
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NEXTSCALE_ONNX_RELEASE_WEIGHTS;
    const releaseWeights = options.releaseWeights ?? env !== '0';
    const prepackEnv = env_('NEXTSCALE_ONNX_PREPACK');
    const prepack = options.prepack ?? prepackEnv !== '0';
    return createOnnxEngine({ threads, memArena: options.memArena, spinning: options.spinning, prepack, releaseWeights });
  },
};
