/**
 * One job (a GEMM or an attention call) as the calling thread and every worker run it: tasks are taken from shared counters in the control
 * block (Atomics), so whichever threads are awake share the work and a descheduled one holds up at most one task.
 *
 * `runJob` must stay self-contained (no imports, no closures over module state): the worker pool ships its source
 * text (`runJob.toString()`) to the workers, so the calling thread and the workers run the very same code. (A coverage
 * tool that instruments source, like istanbul, breaks that; V8's own coverage does not.)
 *
 * Three job kinds:
 *  - DOT (few rows of A): tasks are column ranges of C, each `dotRows` over all m rows.
 *  - TILES: first B is packed (tasks of PACK_ROWS rows of B), then after a barrier the tiles of C (MC × NC, column of
 *    tiles after column of tiles so neighbouring tasks share B panels) are computed.
 *  - ATTN (exact attention, see assembly/attention.ts): tasks are (slice, query segment) pairs, slice-major; the
 *    segment table (query rows [i0, i1) seeing keys [0, n)) sits at slot SegTable, the scale as a float64 at ScaleF64.
 * Every output element is computed by one task with one fixed order of operations: the split never changes a bit.
 */
import type { KernelExports } from './module.js';

/** Int32 slots of the control block (runJob below spells the same numbers out: it must not close over anything). */
export const Slot = {
  Stop: 0,
  Kind: 1,
  M: 2,
  N: 3,
  K: 4,
  A: 5,
  Lda: 6,
  B: 7,
  Ldb: 8,
  P: 9,
  C: 10,
  Ldc: 11,
  Kc: 12,
  Mc: 13,
  Nc: 14,
  Width: 15, // DOT: columns per task; TILES: rows of B per pack task
  Tasks1: 16, // DOT: column tasks; TILES: pack tasks
  Tasks2: 17, // TILES: tiles
  TileRows: 18, // TILES: tiles down one column of tiles
  Scratch: 19, // per-thread scratch base address
  ScratchBytes: 20,
  Failed: 21, // set by a worker whose share threw (a trap); the calling thread then throws
  Next1: 32,
  Done1: 33,
  Next2: 34,
  ScaleF64: 40, // ATTN: the softmax scale, a float64 over slots 40–41
  /** Per thread t (0 = the calling thread), 4 slots from Thread0 + 4t: go epoch, done epoch, ready flag, tasks run. */
  Thread0: 64,
  /** ATTN: (i0, i1, keys) per query segment, up to MAX_SEGMENTS of them. */
  SegTable: 1024,
} as const;
export const MAX_SEGMENTS = Math.floor((16384 - 1024) / 3);
export const THREAD_SLOTS = 4;
export const MAX_THREADS = 64;

export const KIND_DOT = 1;
export const KIND_TILES = 2;
export const KIND_ATTN = 3;

/** Runs this thread's share of the job described in `ctl`; `slot` is 0 for the calling thread, 1.. for workers. */
export function runJob(ctl: Int32Array, ex: KernelExports, slot: number): void {
  const kind = ctl[1]!;
  const m = ctl[2]!, n = ctl[3]!, k = ctl[4]!;
  const a = ctl[5]!, lda = ctl[6]!, b = ctl[7]!, ldb = ctl[8]!, p = ctl[9]!, c = ctl[10]!, ldc = ctl[11]!;
  const width = ctl[15]!, tasks1 = ctl[16]!;
  let ran = 0;
  if (kind === 1) {
    for (;;) {
      const t = Atomics.add(ctl, 32, 1);
      if (t >= tasks1) break;
      const j0 = t * width;
      ex.dotRows(m, k, a, lda, b, ldb, c, ldc, j0, Math.min(n, j0 + width));
      ran++;
    }
  } else if (kind === 3) {
    // a: q, b: k, p: v, c: out; m: query rows per slice, n: key rows per slice, lda: row stride d8
    const rowBytes = lda * 4;
    const scale = new Float64Array(ctl.buffer, ctl.byteOffset + 160, 1)[0]!;
    const scratch = ctl[19]! + slot * ctl[20]!;
    for (;;) {
      const t = Atomics.add(ctl, 32, 1);
      if (t >= tasks1) break;
      const bh = Math.floor(t / width);
      const g = 1024 + (t % width) * 3;
      const i0 = ctl[g]!;
      const q0 = a + (bh * m + i0) * rowBytes;
      const kv = bh * n * rowBytes;
      ex.attendRows(q0, b + kv, p + kv, c + (bh * m + i0) * rowBytes, ctl[g + 1]! - i0, ctl[g + 2]!, lda, scale, scratch);
      ran++;
    }
  } else {
    for (;;) {
      const t = Atomics.add(ctl, 32, 1);
      if (t >= tasks1) break;
      const j0 = t * width;
      ex.packB(n, k, b, ldb, p, j0, Math.min(n, j0 + width));
      ran++;
      if (Atomics.add(ctl, 33, 1) + 1 === tasks1) Atomics.notify(ctl, 33);
    }
    // barrier: every panel must be packed before any tile reads it
    for (;;) {
      const done = Atomics.load(ctl, 33);
      if (done >= tasks1) break;
      Atomics.wait(ctl, 33, done);
    }
    const kc = ctl[12]!, mc = ctl[13]!, nc = ctl[14]!, tiles = ctl[17]!, tileRows = ctl[18]!;
    const scratch = ctl[19]! + slot * ctl[20]!;
    for (;;) {
      const t = Atomics.add(ctl, 34, 1);
      if (t >= tiles) break;
      const i0 = (t % tileRows) * mc;
      const j0 = Math.floor(t / tileRows) * nc;
      ex.tile(k, a, lda, p, c, ldc, i0, Math.min(m, i0 + mc), j0, Math.min(n, j0 + nc), kc, scratch);
      ran++;
    }
  }
  ctl[64 + slot * 4 + 3] = ctl[64 + slot * 4 + 3]! + ran;
}
