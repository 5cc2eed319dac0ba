/**
 * One set of kernels: the memory, the calling thread's instance and (with threads > 1) the worker pool. The GEMM
 * engine and the attention kernel each own one; a job is described in the control block and run by `run`.
 */
import { env } from './env.js';
import { detectWasmFeatures } from './features.js';
import { WasmHeap } from './heap.js';
import { MAX_THREADS, runJob, Slot, THREAD_SLOTS } from './job.js';
import { instantiateKernels, kernelModuleSync, pickVariant, type KernelExports } from './module.js';
import { WorkerPool } from './pool.js';

export interface RuntimeOptions {
  /** Threads including the calling one (default: the available cores, at most 8, where a pool can run; else 1). */
  threads?: number;
  /** Fused multiply-add through relaxed SIMD (default: when the engine has it). */
  relaxed?: boolean;
}

export class WasmRuntime {
  readonly heap: WasmHeap;
  readonly ex: KernelExports;
  readonly threads: number;
  readonly relaxed: boolean;
  private readonly pool: WorkerPool | null;
  private disposed = false;

  constructor(options: RuntimeOptions = {}) {
    const f = detectWasmFeatures();
    if (!f.simd) throw new Error('WebAssembly SIMD is not available in this JavaScript engine');
    const threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(options.threads ?? defaultThreads())));
    if (threads > 1 && !poolPossible()) {
      throw new Error('a multi-threaded wasm kernel needs Node (worker_threads, shared memory and a blocking Atomics.wait)');
    }
    this.threads = threads;
    this.relaxed = options.relaxed ?? f.relaxedSimd;
    const module = kernelModuleSync(pickVariant(threads > 1, this.relaxed));
    this.heap = new WasmHeap(threads > 1);
    this.ex = instantiateKernels(module, this.heap.memory);
    this.pool = threads > 1 ? new WorkerPool(this.heap, module, threads - 1) : null;
  }

  /** Clears the task counters; call after writing a job's parameters, before `run`. */
  resetCounters(): void {
    const ctl = this.heap.control;
    Atomics.store(ctl, Slot.Next1, 0);
    Atomics.store(ctl, Slot.Done1, 0);
    Atomics.store(ctl, Slot.Next2, 0);
    Atomics.store(ctl, Slot.Failed, 0);
  }

  /**
   * Runs the job in the control block: on the calling thread alone, or with the workers that are up when `parallel`.
   * Returns whether any worker was woken.
   */
  run(parallel: boolean): boolean {
    if (this.disposed) throw new Error('this wasm kernel instance was disposed');
    const ctl = this.heap.control;
    if (!this.pool || !parallel) {
      runJob(ctl, this.ex, 0);
      return false;
    }
    const joined = this.pool.readyCount() > 0;
    this.pool.run(() => runJob(ctl, this.ex, 0));
    if (Atomics.load(ctl, Slot.Failed) !== 0) throw new Error('wasm kernels: a worker thread failed on its share of the job');
    return joined;
  }

  /** Tasks run by each thread (0: the calling thread) since creation. */
  tasksPerThread(): number[] {
    const ctl = this.heap.control;
    return Array.from({ length: this.threads }, (_, t) => ctl[Slot.Thread0 + t * THREAD_SLOTS + 3]!);
  }

  async ready(): Promise<void> {
    if (this.pool) await this.pool.ready();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pool) await this.pool.dispose();
  }
}

/** Whether a worker pool can run here: Node, shared memory, and a thread allowed to block in Atomics.wait. */
export function poolPossible(): boolean {
  const f = detectWasmFeatures();
  return f.node && f.sharedMemory && f.canBlock;
}

/**
 * The default thread count: 1 where no pool can run or NEXTSCALE_ENGINE=wasm; else NEXTSCALE_THREADS when it is a
 * positive integer; else the available cores, at most 8.
 */
export function defaultThreads(): number {
  if (!poolPossible() || env('NEXTSCALE_ENGINE')?.toLowerCase() === 'wasm') return 1;
  const asked = env('NEXTSCALE_THREADS');
  if (asked !== undefined) {
    const n = Number(asked);
    if (Number.isInteger(n) && n >= 1) return Math.min(MAX_THREADS, n);
    throw new Error(`NEXTSCALE_THREADS=${asked}: expected a positive integer`);
  }
  return Math.max(1, Math.min(8, availableCores()));
}

function availableCores(): number {
  const g = globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
    navigator?: { hardwareConcurrency?: number };
  };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined;
  return os?.availableParallelism?.() ?? os?.cpus?.().length ?? g.navigator?.hardwareConcurrency ?? 1;
}
