/**
 * The control block at the bottom of a kernel memory (Int32 slots): one job's parameters, the shared task counters
 * the calling thread and the workers take tasks from (Atomics), and per-thread go/done/ready slots.
 *
 * Each package's job runner (`runJob`, shipped to the workers as source text, see pool.ts) reads these slots by
 * number: it must not close over anything, so it spells the same numbers out. The meaning of the parameter slots
 * (M, N, K, A, …) is the job kind's; the counters, the thread slots and the stop/failed flags are the pool's.
 * Every output element is computed by one task with one fixed order of operations: the split never changes a bit.
 */
/** Int32 slots of the control block (a job runner spells the same numbers out: it must not close over anything). */
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
