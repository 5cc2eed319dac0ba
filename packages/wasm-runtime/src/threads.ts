/**
 * How many threads the WebAssembly kernels use, and where a worker pool can run at all. The count is the caller's
 * (a `threads` option: engine-wasm's create(), backend-cpu's kernel); this package reads no environment variable
 * (core's settings module reads NEXTSCALE_THREADS, and callers pass it on).
 */
import { MAX_THREADS } from './control.js';
import { detectWasmFeatures } from './features.js';

/** Whether a worker pool can run here: Node, shared memory, and a thread allowed to block in Atomics.wait. */
export function poolPossible(): boolean {
  const f = detectWasmFeatures();
  return f.node && f.sharedMemory && f.canBlock;
}

/** The thread count when the caller names none: 1 where no pool can run, else the available cores, at most 8. */
export function defaultThreads(): number {
  if (!poolPossible()) return 1;
  return Math.max(1, Math.min(8, availableCores()));
}

/** A caller's thread count, checked: a whole number from 1 to MAX_THREADS (RangeError otherwise, never clamped). */
export function checkThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`threads must be a whole number from 1 to ${MAX_THREADS}, got ${String(threads)}`);
  }
  return threads;
}

export function availableCores(): number {
  const g = globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
    navigator?: { hardwareConcurrency?: number };
  };
  const os = g.process?.getBuiltinModule?.('node:os') as
    | { availableParallelism?: () => number; cpus?: () => unknown[] }
    | undefined;
  return os?.availableParallelism?.() ?? os?.cpus?.().length ?? g.navigator?.hardwareConcurrency ?? 1;
}
