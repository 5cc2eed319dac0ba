/**
 * One set of kernels: the memory, the calling thread's instance and (with threads > 1) the worker pool. Each user
 * (engine-wasm's GEMM, backend-cpu's attention, backend-lowrank's prefix sums) owns one, made from its package's
 * binaries and job runner; a job is described in the control block and run by `run`.
 */
import { Slot, THREAD_SLOTS } from './control.js';
import { detectWasmFeatures } from './features.js';
import { WasmHeap } from './heap.js';
import { instantiateKernels, pickVariant, type WasmVariant } from './module.js';
import { WorkerPool } from './pool.js';
import { checkThreads, defaultThreads, poolPossible } from './threads.js';
import type { JobRunner } from './worker-source.js';

export interface RuntimeOptions {
  /** Threads including the calling one (default: the available cores, at most 8, where a pool can run; else 1). */
  threads?: number;
  /** Fused multiply-add through relaxed SIMD (default: when the engine has it and the package ships it). */
  relaxed?: boolean;
}

/** What a package hands the runtime: its compiled binaries and (for pooled jobs) its self-contained job runner. */
export interface KernelSet<Ex> {
  /** A KernelModules of the package's binaries (any subset of the variants). */
  modules: {
    readonly name: string;
    has(variant: WasmVariant): boolean;
    moduleSync(variant: WasmVariant): WebAssembly.Module;
  };
  runJob?: JobRunner<Ex>;
}

export class WasmRuntime<Ex = Record<string, unknown>> {
  readonly heap: WasmHeap;
  readonly ex: Ex;
  readonly threads: number;
  readonly relaxed: boolean;
  private readonly pool: WorkerPool | null;
  private readonly runJob: JobRunner<Ex> | undefined;
  private disposed = false;

  constructor(kernels: KernelSet<Ex>, options: RuntimeOptions = {}) {
    const f = detectWasmFeatures();
    if (!f.simd) throw new Error('WebAssembly SIMD is not available in this JavaScript engine');
    const threads = checkThreads(options.threads ?? (kernels.runJob ? defaultThreads() : 1));
    if (threads > 1 && !kernels.runJob)
      throw new Error(`${kernels.modules.name}: these kernels run on one thread only`);
    if (threads > 1 && !poolPossible()) {
      throw new Error(
        'a multi-threaded wasm kernel needs Node (worker_threads, shared memory and a blocking Atomics.wait)',
      );
    }
    this.threads = threads;
    this.relaxed = options.relaxed ?? (f.relaxedSimd && kernels.modules.has(pickVariant(threads > 1, true)));
    const module = kernels.modules.moduleSync(pickVariant(threads > 1, this.relaxed));
    this.heap = new WasmHeap(threads > 1);
    this.ex = instantiateKernels<Ex>(module, this.heap.memory);
    this.runJob = kernels.runJob;
    this.pool = threads > 1 ? new WorkerPool(this.heap, module, threads - 1, kernels.runJob as JobRunner<never>) : null;
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
    const runJob = this.runJob;
    if (!runJob) throw new Error('these wasm kernels have no job runner');
    const ctl = this.heap.control;
    if (!this.pool || !parallel) {
      runJob(ctl, this.ex, 0);
      return false;
    }
    const joined = this.pool.readyCount() > 0;
    this.pool.run(() => runJob(ctl, this.ex, 0)); // throws when a worker failed
    return joined;
  }

  /** Tasks run by each thread (0: the calling thread) since creation. */
  tasksPerThread(): number[] {
    const ctl = this.heap.control;
    return Array.from({ length: this.threads }, (_, t) => ctl[Slot.Thread0 + t * THREAD_SLOTS + 3]);
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
