/**
 * The WebAssembly SIMD GemmEngine: C = A·Bᵀ (see core's GemmNT for the contract) computed in the kernels'
 * memory. Each call copies A and B in, runs one job (on the calling thread, or split with the worker pool when it is
 * large enough), and copies C out; very large operands are processed in chunks of rows of A and of B so the memory
 * stays bounded. The chunking, the thread count and the task split never change the order of operations on an
 * element, so results are bitwise the same for any number of threads.
 */
import type { GemmNT } from '@nextscale/core/engines';
import type { GemmEngine } from '@nextscale/core/ops';
import {
  align64,
  CALL_BASE,
  detectWasmFeatures,
  Slot,
  WasmRuntime,
  type RuntimeOptions,
} from '@nextscale/wasm-runtime';
import { KIND_DOT, KIND_TILES, runGemmJob } from './job.js';
import { denseKernels, type GemmExports } from './modules.js';

export interface WasmGemmOptions extends RuntimeOptions {
  /** Calls under this many flops (2·m·n·k) stay on the calling thread (default 2²³ ≈ 8.4 M). */
  parallelThreshold?: number;
  /** Blocking of the tiled path: rows of A per tile, columns of C per tile, K block (defaults 64, 256, 256). */
  mc?: number;
  nc?: number;
  kc?: number;
  /** Floats per operand chunk before a call is split into several jobs (default 2²² = 16 MiB; small in tests). */
  chunkFloats?: number;
}

export interface WasmGemmStats {
  calls: number;
  /** Calls that woke at least one worker. */
  parallelCalls: number;
  /** Tasks run by each thread (index 0: the calling thread), summed over all calls. */
  tasksPerThread: number[];
}

export interface WasmGemmEngine extends GemmEngine {
  readonly threads: number;
  readonly relaxed: boolean;
  /** Starts the worker threads (if any) and resolves when all of them take work. */
  ready(): Promise<void>;
  stats(): WasmGemmStats;
  /** Stops the workers; the engine must not be used afterwards. */
  dispose(): Promise<void>;
}

/**
 * m up to this uses the unpacked dot-product path: VAR's first scales have 1–16 tokens (2–32 with guidance), and there
 * transposing B into panels costs more than the product (measured at 16 × 4096 × 1024: 5 ms unpacked, 6 ms packed).
 */
export const DOT_MAX_ROWS = 16;
/** Per chunk, each of A, B (and its packed copy) and C holds at most about this many floats (16 MiB). */
const CHUNK_FLOATS = 1 << 22;
const DOT_COLUMNS = 64;
const PACK_ROWS = 64;
const NR = 8;
const MR = 4;

/** True when this JavaScript engine can run the WebAssembly kernels. */
export function wasmGemmAvailable(): boolean {
  return detectWasmFeatures().simd;
}

export function createWasmGemmEngine(options: WasmGemmOptions = {}): WasmGemmEngine {
  const rt = new WasmRuntime<GemmExports>({ modules: denseKernels, runJob: runGemmJob }, options);
  const { heap, ex, threads, relaxed } = rt;
  const threshold = options.parallelThreshold ?? 2 ** 23;
  const mc = roundUp(options.mc ?? 64, MR);
  const nc = roundUp(options.nc ?? 256, NR);
  const kc = Math.max(1, options.kc ?? 256);
  const chunkFloats = Math.max(1, options.chunkFloats ?? CHUNK_FLOATS);
  const scratchBytes = align64(ex.tileScratchBytes(mc, kc));
  let calls = 0;
  let parallelCalls = 0;

  function chunk(
    dot: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOff: number,
    lda: number,
    b: Float32Array,
    bOff: number,
    ldb: number,
    c: Float32Array,
    cOff: number,
    ldc: number,
  ): void {
    const aAt = CALL_BASE;
    const bAt = align64(aAt + m * k * 4);
    const pAt = align64(bAt + n * k * 4);
    const cAt = align64(dot ? pAt : pAt + Math.ceil(n / NR) * NR * k * 4);
    const sAt = align64(cAt + m * n * 4);
    heap.ensure(sAt + (dot ? 0 : threads * scratchBytes));
    const mem = heap.f32;
    copyIn(mem, aAt >> 2, a, aOff, lda, m, k);
    copyIn(mem, bAt >> 2, b, bOff, ldb, n, k);

    const ctl = heap.control;
    ctl[Slot.M] = m;
    ctl[Slot.N] = n;
    ctl[Slot.K] = k;
    ctl[Slot.A] = aAt;
    ctl[Slot.Lda] = k;
    ctl[Slot.B] = bAt;
    ctl[Slot.Ldb] = k;
    ctl[Slot.P] = pAt;
    ctl[Slot.C] = cAt;
    ctl[Slot.Ldc] = n;
    if (dot) {
      ctl[Slot.Kind] = KIND_DOT;
      ctl[Slot.Width] = DOT_COLUMNS;
      ctl[Slot.Tasks1] = Math.ceil(n / DOT_COLUMNS);
    } else {
      const tileRows = Math.ceil(m / mc);
      ctl[Slot.Kind] = KIND_TILES;
      ctl[Slot.Kc] = kc;
      ctl[Slot.Mc] = mc;
      ctl[Slot.Nc] = nc;
      ctl[Slot.Width] = PACK_ROWS;
      ctl[Slot.Tasks1] = Math.ceil(n / PACK_ROWS);
      ctl[Slot.Tasks2] = tileRows * Math.ceil(n / nc);
      ctl[Slot.TileRows] = tileRows;
      ctl[Slot.Scratch] = sAt;
      ctl[Slot.ScratchBytes] = scratchBytes;
    }
    rt.resetCounters();
    calls++;
    if (rt.run(2 * m * n * k >= threshold)) parallelCalls++;
    copyOut(heap.f32, cAt >> 2, c, cOff, ldc, m, n);
  }

  const gemmNT: GemmNT = (m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc) => {
    if (rt.isDisposed) throw new Error('this wasm gemm engine was disposed');
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
      for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
      return;
    }
    // The path is chosen from the whole product, so chunks (and threads) never change the arithmetic.
    const dot = m <= DOT_MAX_ROWS;
    const nb = Math.min(n, Math.max(NR, Math.floor(chunkFloats / k / NR) * NR));
    const mb = Math.min(m, Math.max(MR, Math.floor(Math.min(chunkFloats / k, chunkFloats / nb) / MR) * MR));
    for (let i0 = 0; i0 < m; i0 += mb) {
      const mi = Math.min(mb, m - i0);
      for (let j0 = 0; j0 < n; j0 += nb) {
        const nj = Math.min(nb, n - j0);
        chunk(dot, mi, nj, k, a, aOff + i0 * lda, lda, b, bOff + j0 * ldb, ldb, c, cOff + i0 * ldc + j0, ldc);
      }
    }
  };

  return {
    name: `wasm-simd${relaxed ? '-fma' : ''}-4x8${threads > 1 ? `-t${threads}` : ''}`,
    gemmNT,
    threads,
    relaxed,
    ready: () => rt.ready(),
    stats: () => ({ calls, parallelCalls, tasksPerThread: rt.tasksPerThread() }),
    dispose: () => rt.dispose(),
  };
}

function roundUp(x: number, q: number): number {
  return Math.max(q, Math.ceil(x / q) * q);
}

/** Copies `rows` rows of `cols` floats (source row stride `ld`) into the memory, packed with stride `cols`. */
function copyIn(
  mem: Float32Array,
  at: number,
  src: Float32Array,
  off: number,
  ld: number,
  rows: number,
  cols: number,
): void {
  if (ld === cols) {
    mem.set(src.subarray(off, off + rows * cols), at);
    return;
  }
  for (let r = 0; r < rows; r++) mem.set(src.subarray(off + r * ld, off + r * ld + cols), at + r * cols);
}

/** Copies an m × n block (stride n in the memory) out to `dst` at `off` with row stride `ld`. */
function copyOut(
  mem: Float32Array,
  at: number,
  dst: Float32Array,
  off: number,
  ld: number,
  m: number,
  n: number,
): void {
  if (ld === n) {
    dst.set(mem.subarray(at, at + m * n), off);
    return;
  }
  for (let r = 0; r < m; r++) dst.set(mem.subarray(at + r * n, at + r * n + n), off + r * ld);
}
