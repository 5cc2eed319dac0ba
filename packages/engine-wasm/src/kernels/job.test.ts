import { describe, expect, it } from 'vitest';
import {
  align64,
  CALL_BASE,
  instantiateKernels,
  pickVariant,
  poolPossible,
  Slot,
  WasmHeap,
  WorkerPool,
} from '@nextscale/wasm-runtime';
import { watchPool } from '@nextscale/wasm-runtime/testing';
import { KIND_TILES, runGemmJob } from './job.js';
import { denseKernels, type GemmExports } from './modules.js';

const [MC, NC, KC, NR, PACK_ROWS] = [64, 256, 256, 8, 64];

/**
 * Writes a TILES job (C = A·Bᵀ, m × n × k, small whole numbers so every sum is exact) into the memory and control
 * block as the engine does, with the task counters and the failed flag cleared (rt.resetCounters); `badB` puts B past
 * the end of the memory, so packing it traps. Returns C as computed and as expected.
 */
function writeTilesJob(
  heap: WasmHeap,
  ex: GemmExports,
  threads: number,
  m: number,
  n: number,
  k: number,
  badB = false,
) {
  const aAt = CALL_BASE;
  const bAt = align64(aAt + m * k * 4);
  const pAt = align64(bAt + n * k * 4);
  const cAt = align64(pAt + Math.ceil(n / NR) * NR * k * 4);
  const sAt = align64(cAt + m * n * 4);
  const scratchBytes = align64(ex.tileScratchBytes(MC, KC));
  heap.ensure(sAt + threads * scratchBytes);
  const f = heap.f32;
  for (let i = 0; i < m * k; i++) f[(aAt >> 2) + i] = (i % 7) - 3;
  for (let i = 0; i < n * k; i++) f[(bAt >> 2) + i] = (i % 5) - 2;
  f.fill(Number.NaN, cAt >> 2, (cAt >> 2) + m * n);
  const a = f.slice(aAt >> 2, (aAt >> 2) + m * k);
  const b = f.slice(bAt >> 2, (bAt >> 2) + n * k);
  const want = () => {
    const c = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[j * k + p];
    return c;
  };
  const ctl = heap.control;
  const tileRows = Math.ceil(m / MC);
  const fields: [number, number][] = [
    [Slot.Kind, KIND_TILES],
    [Slot.M, m],
    [Slot.N, n],
    [Slot.K, k],
    [Slot.A, aAt],
    [Slot.Lda, k],
    [Slot.B, badB ? heap.memory.buffer.byteLength : bAt],
    [Slot.Ldb, k],
    [Slot.P, pAt],
    [Slot.C, cAt],
    [Slot.Ldc, n],
    [Slot.Kc, KC],
    [Slot.Mc, MC],
    [Slot.Nc, NC],
    [Slot.Width, PACK_ROWS],
    [Slot.Tasks1, Math.ceil(n / PACK_ROWS)],
    [Slot.Tasks2, tileRows * Math.ceil(n / NC)],
    [Slot.TileRows, tileRows],
    [Slot.Scratch, sAt],
    [Slot.ScratchBytes, scratchBytes],
    [Slot.Next1, 0],
    [Slot.Done1, 0],
    [Slot.Next2, 0],
    [Slot.Failed, 0],
  ];
  for (const [slot, value] of fields) ctl[slot] = value;
  return { want, got: () => heap.f32.slice(cAt >> 2, (cAt >> 2) + m * n) };
}

/**
 * The GEMM job on a pool of one worker under a watchdog that also opens the packing barrier (stopped, with the
 * worker, afterwards). `attempt(own)` is pool.run(own): what it threw ('' when it returned); it fails the test if
 * the job deadlocked.
 */
async function withPool(
  body: (heap: WasmHeap, ex: GemmExports, attempt: (own: () => void) => string) => void,
): Promise<void> {
  const module = denseKernels.moduleSync(pickVariant(true, false));
  const heap = new WasmHeap(true);
  const ex = instantiateKernels<GemmExports>(module, heap.memory);
  const pool = new WorkerPool(heap, module, 1, runGemmJob);
  const watch = watchPool(pool, heap.memory, { openBarriers: [Slot.Done1] });
  try {
    await pool.ready();
    body(heap, ex, watch.attempt);
  } finally {
    await watch.stop();
    await pool.dispose();
  }
}

/** After a failed job the pool takes the next one and computes it right. */
function expectNextJobRuns(heap: WasmHeap, ex: GemmExports, attempt: (own: () => void) => string): void {
  const job = writeTilesJob(heap, ex, 2, 20, 130, 33);
  expect(attempt(() => runGemmJob(heap.control, ex, 0))).toBe('');
  expect([...job.got()]).toEqual([...job.want()]);
}

describe.runIf(poolPossible())('the GEMM job when one thread fails while packing B', () => {
  it("a worker's pack task traps: the calling thread leaves the barrier and throws", async () => {
    await withPool((heap, ex, attempt) => {
      writeTilesJob(heap, ex, 2, 20, PACK_ROWS, 33, true); // one pack task, which traps
      const ctl = heap.control;
      const nap = new Int32Array(new SharedArrayBuffer(4));
      const error = attempt(() => {
        // let the worker take the only pack task, then wait at the barrier
        const t0 = Date.now();
        while (Atomics.load(ctl, Slot.Next1) < 1) {
          if (Date.now() - t0 > 5000) throw new Error('the worker never took the pack task');
          Atomics.wait(nap, 0, 0, 1);
        }
        runGemmJob(ctl, ex, 0);
      });
      expect(error).toBe('wasm gemm: another thread failed on its share of the job');
      expectNextJobRuns(heap, ex, attempt);
    });
  }, 30_000);

  it("the calling thread's pack task throws: the worker leaves the barrier and the error comes out", async () => {
    await withPool((heap, ex, attempt) => {
      expectNextJobRuns(heap, ex, attempt); // warm: the calling thread is quick to take its first task
      let thrown = 0;
      const failing: GemmExports = {
        ...ex,
        packB: () => {
          thrown++;
          throw new RangeError('out of memory (test)');
        },
      };
      // Eight long pack tasks: the calling thread takes one while the worker packs (the worker may, rarely, take
      // them all first: the job then succeeds and is tried again).
      for (let tries = 0; tries < 10 && thrown === 0; tries++) {
        writeTilesJob(heap, ex, 2, 20, 8 * PACK_ROWS, 1024);
        const error = attempt(() => runGemmJob(heap.control, failing, 0));
        expect(error).toBe(thrown > 0 ? 'out of memory (test)' : '');
      }
      expect(thrown, "the calling thread never took a pack task: the test didn't test").toBe(1);
      expectNextJobRuns(heap, ex, attempt);
    });
  }, 30_000);
});
