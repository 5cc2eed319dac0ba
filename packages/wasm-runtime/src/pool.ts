/**
 * Worker threads that share the calling thread's WebAssembly memory and take tasks of a job (a GEMM, an attention
 * call) alongside it.
 *
 * The kernels' callers are synchronous, so the calling thread blocks in Atomics.wait until the workers it woke have
 * finished: allowed on Node's main thread and in workers, never on a browser page's main thread (the engine keeps a
 * single thread there). Workers start lazily on the first parallel job and join as they come up (until then the
 * calling thread does all the work, with bitwise the same result); they are unref'd, so they never keep a process
 * alive, and `dispose()` stops them. A worker whose share throws (a trap) flags it and still reports done, so `run`
 * throws on the calling thread instead of returning a wrong result. A worker that dies (an error event, or an exit
 * before `dispose`) would never report done again: it is taken out of the ready workers and every later `run` throws
 * (the pool is a thread short: dispose it). Node delivers those events only between jobs, so a worker killed from
 * outside mid-job still leaves the calling thread waiting (not handled).
 */
import type { WasmHeap } from './heap.js';
import { Slot, THREAD_SLOTS } from './control.js';
import { workerSource, type JobRunner } from './worker-source.js';

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: 'error' | 'exit', listener: (arg: unknown) => void): void;
}
type WorkerCtor = new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** node:worker_threads' Worker, loaded synchronously where Node allows it (20.16+), else after a dynamic import. */
let workerCtor: WorkerCtor | null | undefined;
let workerCtorLoading: Promise<void> | undefined;

function loadWorkerCtor(): Promise<void> {
  if (workerCtor !== undefined) return Promise.resolve();
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const sync = proc?.getBuiltinModule?.('node:worker_threads') as { Worker?: WorkerCtor } | undefined;
  if (sync?.Worker) {
    workerCtor = sync.Worker;
    return Promise.resolve();
  }
  // a non-literal specifier keeps browser bundlers from trying to resolve a Node built-in
  const id = 'node:worker_threads';
  workerCtorLoading ??= import(/* @vite-ignore */ id).then(
    (m: { Worker?: WorkerCtor }) => {
      workerCtor = m.Worker ?? null;
    },
    () => {
      workerCtor = null;
    },
  );
  return workerCtorLoading;
}

export class WorkerPool {
  private workers: NodeWorker[] = [];
  private epoch = 0;
  private spawned = false;
  private failure: string | null = null;

  /** `size` workers besides the calling thread (slots 1..size of the control block), each running `runJob`. */
  constructor(
    private readonly heap: WasmHeap,
    private readonly module: WebAssembly.Module,
    readonly size: number,
    private readonly runJob: JobRunner<never>,
  ) {}

  /** Starts the workers if not yet started (without waiting for them). */
  start(): void {
    if (this.spawned) return;
    if (workerCtor === undefined) {
      void loadWorkerCtor().then(() => this.start());
      return;
    }
    this.spawned = true;
    if (workerCtor === null) {
      this.failure = 'node:worker_threads is not available';
      return;
    }
    const source = workerSource(this.runJob);
    for (let slot = 1; slot <= this.size; slot++) {
      const w = new workerCtor(source, {
        eval: true,
        workerData: { memory: this.heap.memory, module: this.module, slot },
      });
      // A dead worker keeps its ready flag: clear it, or the next run would wake it and wait for it forever. The
      // first cause is kept ('error' is followed by 'exit').
      const lost = (why: string) => {
        Atomics.store(this.heap.control, Slot.Thread0 + slot * THREAD_SLOTS + 2, 0);
        this.failure ??= `worker ${slot} ${why}`;
      };
      w.on('error', (err) => lost(`failed: ${String(err)}`));
      w.on('exit', (code) => lost(`exited (code ${String(code)})`));
      w.unref();
      this.workers.push(w);
    }
  }

  /** Resolves once every worker is ready to take work (rejects if they cannot start). */
  async ready(timeoutMs = 30_000): Promise<void> {
    await loadWorkerCtor();
    this.start();
    const t0 = Date.now();
    while (this.readyCount() < this.size) {
      if (this.failure) throw new Error(`wasm worker pool: ${this.failure}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`wasm worker pool: workers not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  readyCount(): number {
    const ctl = this.heap.control;
    let n = 0;
    for (let s = 1; s <= this.size; s++) if (Atomics.load(ctl, Slot.Thread0 + s * THREAD_SLOTS + 2) === 1) n++;
    return n;
  }

  /**
   * Runs the job already written to the control block: wakes the ready workers, runs `own` (the calling thread's
   * share), then blocks until every woken worker has reported done. Throws `own`'s error, or when a worker's share
   * threw, or (before waking anyone) when a worker has died or the pool was disposed.
   */
  run(own: () => void): void {
    this.start();
    if (this.failure) throw new Error(`wasm worker pool: ${this.failure}`);
    const ctl = this.heap.control;
    Atomics.store(ctl, Slot.Failed, 0); // the pool's flag, set by a worker whose share throws (see worker-source)
    const epoch = (this.epoch = (this.epoch + 1) | 0);
    const woken: number[] = [];
    for (let s = 1; s <= this.size; s++) {
      const base = Slot.Thread0 + s * THREAD_SLOTS;
      if (Atomics.load(ctl, base + 2) !== 1) continue;
      Atomics.store(ctl, base, epoch);
      Atomics.notify(ctl, base);
      woken.push(base);
    }
    try {
      own();
    } finally {
      for (const base of woken) {
        for (;;) {
          const done = Atomics.load(ctl, base + 1);
          if (done === epoch) break;
          Atomics.wait(ctl, base + 1, done, 1000);
        }
      }
    }
    // a worker's share threw: its part of the output is missing or wrong
    if (Atomics.load(ctl, Slot.Failed) !== 0)
      throw new Error('wasm kernels: a worker thread failed on its share of the job');
  }

  /** Stops the workers; the pool cannot run jobs afterwards. */
  async dispose(): Promise<void> {
    this.failure = 'it was disposed'; // set first: the workers' exits below are not failures
    const ctl = this.heap.control;
    Atomics.store(ctl, Slot.Stop, 1);
    for (let s = 1; s <= this.size; s++) {
      const base = Slot.Thread0 + s * THREAD_SLOTS;
      Atomics.add(ctl, base, 1);
      Atomics.notify(ctl, base);
    }
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
