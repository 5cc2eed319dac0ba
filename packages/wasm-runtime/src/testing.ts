/**
 * Test support for code that blocks on the worker pool (`@nextscale/wasm-runtime/testing`): the pool's own tests and
 * a kernel package's job tests. A thread blocked in Atomics.wait cannot be interrupted by vitest's timeout, so a hang
 * there would stall the whole run; under `watchPool` it becomes a failed test instead.
 */
import { Worker } from 'node:worker_threads';
import { MAX_THREADS, Slot, THREAD_SLOTS } from './control.js';
import type { WorkerPool } from './pool.js';

export interface PoolWatch {
  /** pool.run(own): the message it threw ('' when it returned); throws when the watchdog had to release it. */
  attempt(own: () => void): string;
  /** Stops the watchdog thread (before disposing the pool). */
  stop(): Promise<number>;
}

/**
 * A watchdog thread over `pool`'s memory: after `afterMs` it reports every worker done for its current epoch (what a
 * lost worker never does) every 50 ms, and sets each control slot in `openBarriers` (a job's own barrier counters,
 * e.g. the GEMM job's Done1) past any count, so a thread blocked on either returns.
 */
export function watchPool(
  pool: WorkerPool,
  memory: WebAssembly.Memory,
  { afterMs = 10_000, openBarriers = [] }: { afterMs?: number; openBarriers?: readonly number[] } = {},
): PoolWatch {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const source = `
    const { memory, flag, ms, barriers, first, end, stride } = require('node:worker_threads').workerData;
    const ctl = new Int32Array(memory.buffer, 0, 16384);
    setTimeout(() => {
      Atomics.store(flag, 0, 1);
      setInterval(() => {
        for (const b of barriers) {
          Atomics.store(ctl, b, 1 << 30);
          Atomics.notify(ctl, b);
        }
        for (let go = first; go < end; go += stride) {
          Atomics.store(ctl, go + 1, Atomics.load(ctl, go));
          Atomics.notify(ctl, go + 1);
        }
      }, 50);
    }, ms);`;
  const workerData = {
    memory,
    flag,
    ms: afterMs,
    barriers: [...openBarriers],
    first: Slot.Thread0 + THREAD_SLOTS, // worker 1's go slot (done is go + 1)
    end: Slot.Thread0 + THREAD_SLOTS * MAX_THREADS,
    stride: THREAD_SLOTS,
  };
  const w = new Worker(source, { eval: true, workerData });
  w.unref();
  return {
    attempt(own) {
      let error = '';
      try {
        pool.run(own);
      } catch (err) {
        error = (err as Error).message;
      }
      if (Atomics.load(flag, 0) === 1)
        throw new Error(`pool.run blocked until the watchdog released it after ${afterMs} ms (a hang)`);
      return error;
    },
    stop: () => w.terminate(),
  };
}
