/**
 * The GEMM's job runner, run by the calling thread and every worker of the pool (see @nextscale/wasm-runtime's
 * control block). Tasks are taken from shared counters (Atomics), so whichever threads are awake share the work and
 * a descheduled one holds up at most one task. Two job kinds:
 *  - DOT (few rows of A): tasks are column ranges of C, each `dotRows` over all m rows.
 *  - TILES: first B is packed (tasks of PACK_ROWS rows of B), then after a barrier the tiles of C (MC × NC, column of
 *    tiles after column of tiles so neighbouring tasks share B panels) are computed. A thread whose pack task throws
 *    flags the job failed (slot 21, Failed) and opens the barrier; every thread then throws instead of computing tiles.
 * Every output element is computed by one task with one fixed order of operations: the split never changes a bit.
 *
 * `runGemmJob` must stay self-contained (no imports, no closures over module state): the worker pool ships its
 * source text to the workers, so it spells the control block's slot numbers out (Slot in wasm-runtime). (A coverage
 * tool that instruments source, like istanbul, breaks that; V8's own coverage does not.)
 */
import type { GemmExports } from './modules.js';

export const KIND_DOT = 1;
export const KIND_TILES = 2;

/** Runs this thread's share of the GEMM job described in `ctl`; `slot` is 0 for the calling thread, 1.. for workers. */
export function runGemmJob(ctl: Int32Array, ex: GemmExports, slot: number): void {
  const kind = ctl[1];
  const m = ctl[2],
    n = ctl[3],
    k = ctl[4];
  const a = ctl[5],
    lda = ctl[6],
    b = ctl[7],
    ldb = ctl[8],
    p = ctl[9],
    c = ctl[10],
    ldc = ctl[11];
  const width = ctl[15],
    tasks1 = ctl[16];
  let ran = 0;
  if (kind === 1) {
    for (;;) {
      const t = Atomics.add(ctl, 32, 1);
      if (t >= tasks1) break;
      const j0 = t * width;
      ex.dotRows(m, k, a, lda, b, ldb, c, ldc, j0, Math.min(n, j0 + width));
      ran++;
    }
  } else {
    try {
      for (;;) {
        const t = Atomics.add(ctl, 32, 1);
        if (t >= tasks1) break;
        const j0 = t * width;
        ex.packB(n, k, b, ldb, p, j0, Math.min(n, j0 + width));
        ran++;
        if (Atomics.add(ctl, 33, 1) + 1 === tasks1) Atomics.notify(ctl, 33);
      }
    } catch (err) {
      // A share that throws (a trap) never counts the task that threw, so the others would wait at the barrier
      // forever: flag the job failed, then push the count past the end (a new value, so a thread just about to
      // wait on the old one returns at once) and wake the waiters.
      Atomics.store(ctl, 21, 1);
      Atomics.add(ctl, 33, tasks1);
      Atomics.notify(ctl, 33);
      throw err;
    }
    // barrier: every panel must be packed before any tile reads it
    for (;;) {
      const done = Atomics.load(ctl, 33);
      if (done >= tasks1) break;
      Atomics.wait(ctl, 33, done);
    }
    // the job failed (the barrier may have opened with panels missing): compute no tile, fail this share too
    if (Atomics.load(ctl, 21) !== 0) throw new Error('wasm gemm: another thread failed on its share of the job');
    const kc = ctl[12],
      mc = ctl[13],
      nc = ctl[14],
      tiles = ctl[17],
      tileRows = ctl[18];
    const scratch = ctl[19] + slot * ctl[20];
    for (;;) {
      const t = Atomics.add(ctl, 34, 1);
      if (t >= tiles) break;
      const i0 = (t % tileRows) * mc;
      const j0 = Math.floor(t / tileRows) * nc;
      ex.tile(k, a, lda, p, c, ldc, i0, Math.min(m, i0 + mc), j0, Math.min(n, j0 + nc), kc, scratch);
      ran++;
    }
  }
  ctl[64 + slot * 4 + 3] = ctl[64 + slot * 4 + 3] + ran;
}
