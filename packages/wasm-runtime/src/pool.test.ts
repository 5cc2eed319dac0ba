import { describe, expect, it } from 'vitest';
import { Slot } from './control.js';
import { WasmHeap } from './heap.js';
import { WorkerPool } from './pool.js';
import { watchPool } from './testing.js';
import { poolPossible } from './threads.js';

// (module): these test jobs run in JavaScript, the workers need no kernels
const EMPTY = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0);

/**
 * The test job (self-contained: shipped to the workers as text): each share counts itself in slot Next1, and the
 * share of thread `ctl[Kind] - 1` throws.
 */
function countingJob(ctl: Int32Array, _ex: never, slot: number): void {
  Atomics.add(ctl, 32, 1);
  if (ctl[1] === slot + 1) throw new Error(`the share of thread ${slot} failed`);
}

/**
 * A pool of `size` workers running countingJob, under a watchdog; disposed (and its workers stopped) afterwards.
 * `attempt(own)` is pool.run(own): what it threw ('' when it returned); it fails the test if run() hung.
 */
async function withPool(
  size: number,
  body: (pool: WorkerPool, ctl: Int32Array, attempt: (own: () => void) => string) => Promise<void>,
): Promise<void> {
  const heap = new WasmHeap(true);
  const pool = new WorkerPool(heap, new WebAssembly.Module(EMPTY), size, countingJob);
  const watch = watchPool(pool, heap.memory);
  try {
    await pool.ready();
    await body(pool, heap.control, watch.attempt);
  } finally {
    await watch.stop();
    await pool.dispose();
  }
}

describe.runIf(poolPossible())('WorkerPool failures', () => {
  it("throws on the calling thread when a worker's share throws, and runs the next job", async () => {
    await withPool(2, async (_pool, ctl, attempt) => {
      const own = () => countingJob(ctl, undefined as never, 0);
      ctl[Slot.Next1] = 0;
      ctl[Slot.Kind] = 2; // worker 1's share throws
      expect(attempt(own)).toBe('wasm kernels: a worker thread failed on its share of the job');
      expect(ctl[Slot.Next1], 'every share ran before run() returned').toBe(3);
      // the flag was this job's: the next job runs on every thread
      ctl[Slot.Next1] = 0;
      ctl[Slot.Kind] = 0;
      expect(attempt(own)).toBe('');
      expect(ctl[Slot.Next1]).toBe(3);
      // the calling thread's own failure comes out as it is, after the workers are done
      ctl[Slot.Next1] = 0;
      ctl[Slot.Kind] = 1;
      expect(attempt(own)).toBe('the share of thread 0 failed');
      expect(ctl[Slot.Next1]).toBe(3);
    });
  }, 30_000);

  it('throws at every later run when a worker died between jobs, instead of waiting for it forever', async () => {
    await withPool(2, async (pool, ctl, attempt) => {
      const own = () => countingJob(ctl, undefined as never, 0);
      ctl[Slot.Kind] = 0;
      expect(attempt(own)).toBe('');
      // stands for a worker lost between jobs (killed, out of memory): it never reports done again
      const workers = (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers;
      await workers[0].terminate();
      expect(attempt(own)).toMatch(/^wasm worker pool: worker 1 exited/);
      expect(pool.readyCount()).toBe(1);
      expect(attempt(own)).toMatch(/^wasm worker pool: worker 1 exited/);
      await expect(pool.ready()).rejects.toThrow(/worker 1 exited/);
      await pool.dispose();
      expect(attempt(own)).toBe('wasm worker pool: it was disposed');
    });
  }, 30_000);
});
