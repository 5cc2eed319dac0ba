/**
 * How many threads the WebAssembly kernels use, and where a worker pool can run at all. NEXTSCALE_THREADS is read
 * here, once for every package with kernels (engine-wasm's GEMM, backend-cpu's attention), and a bad value is a
 * typed error (code E_USAGE: the CLI exits 2 with the message) rather than a plain Error.
 */
import { MAX_THREADS } from './control.js';
import { env } from './env.js';
import { detectWasmFeatures } from './features.js';

/** A NEXTSCALE_THREADS (or `threads` option) value that is not an integer from 1 to MAX_THREADS. */
export class ThreadsSettingError extends Error {
  override name = 'ThreadsSettingError';
  /** Same code as core's UsageError, so callers map it to their usage/config exit status. */
  readonly code = 'E_USAGE' as const;
  constructor(
    readonly variable: string,
    readonly value: string,
  ) {
    super(
      `${variable}=${value}: expected a whole number of threads from 1 to ${MAX_THREADS} — ` +
        `set ${variable} to a value in that range, or unset it to use the available cores`,
    );
  }
}

/** Parses a thread count (NEXTSCALE_THREADS by default in the message); throws ThreadsSettingError when invalid. */
export function parseThreads(value: string, variable = 'NEXTSCALE_THREADS'): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new ThreadsSettingError(variable, value);
  return n;
}

/** Whether a worker pool can run here: Node, shared memory, and a thread allowed to block in Atomics.wait. */
export function poolPossible(): boolean {
  const f = detectWasmFeatures();
  return f.node && f.sharedMemory && f.canBlock;
}

/**
 * The default thread count: 1 where no pool can run or NEXTSCALE_ENGINE=wasm (the one-thread engine of old); else
 * NEXTSCALE_THREADS when set (ThreadsSettingError when it is not 1…MAX_THREADS); else the available cores, at most 8.
 */
export function defaultThreads(): number {
  if (!poolPossible() || env('NEXTSCALE_ENGINE')?.toLowerCase() === 'wasm') return 1;
  const asked = env('NEXTSCALE_THREADS');
  if (asked !== undefined) return parseThreads(asked);
  return Math.max(1, Math.min(8, availableCores()));
}

export function availableCores(): number {
  const g = globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
    navigator?: { hardwareConcurrency?: number };
  };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined;
  return os?.availableParallelism?.() ?? os?.cpus?.().length ?? g.navigator?.hardwareConcurrency ?? 1;
}
