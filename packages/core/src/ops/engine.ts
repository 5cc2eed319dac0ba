/**
 * The one GEMM behind `matmul`, `linear` and `conv2d`, behind a replaceable engine so that a faster implementation
 * (WebAssembly SIMD, a worker pool, …) can be plugged in without touching any caller.
 *
 * The contract is the "NT" product, the layout in which both operands are read along contiguous rows:
 *
 *   C[i, j] = Σ_p A[i, p] · B[j, p]          0 ≤ i < m, 0 ≤ j < n, 0 ≤ p < k
 *
 * with A[i, p] = a[aOff + i·lda + p], B[j, p] = b[bOff + j·ldb + p], C[i, j] = c[cOff + i·ldc + j].
 * C is overwritten (not accumulated into); with k = 0 it is set to 0. The C region must not overlap A or B.
 *
 * `linear` (x·Wᵀ) is this product as is, `conv2d` multiplies the weight (Co × Ci·kh·kw) by the transposed im2col
 * matrix, and `matmul` transposes its right operand once per call.
 */
import type { FeatureNet } from './feature-net.js';
export type GemmNT = (
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
) => void;

export interface GemmEngine {
  /** A short name for diagnostics and benchmarks. */
  readonly name: string;
  readonly gemmNT: GemmNT;
}

/**
 * Blocking of the default engine. K is split into equal blocks of at most KC values, whose partial sums are added in C.
 * Within a K block, B is processed in panels of about PANEL_BYTES (a multiple of 4 rows), each reused by every 4-row
 * block of A, so that a panel stays in L2. Tuned roughly on one x86 machine; the results do not depend on them beyond
 * float32 rounding.
 */
const KC = 512;
const PANEL_BYTES = 256 * 1024;

/**
 * The default engine: plain TypeScript, 4×4 register blocks of dot products over contiguous rows. Partial sums live in
 * JS numbers (float64); they are rounded to float32 once per block of at most KC values of K.
 */
export const jsGemmEngine: GemmEngine = { name: 'js-4x4', gemmNT: jsGemmNT };

/**
 * An optional engine for the elementwise and row-wise kernels (layerNorm, groupNorm, softmax, geluTanh, silu). When one
 * is set, those ops hand it their contiguous float32 input and a same-sized output; otherwise (the default, and the
 * reference) they run their TypeScript loops. An engine must keep the ops' contracts: norm statistics in float64, the
 * softmax's −Infinity/NaN behaviour, float32 results within a few ulp of the TypeScript ones.
 */
export interface ElementwiseEngine {
  readonly name: string;
  /** out[r, :] = (x[r, :] − μ_r)/√(σ²_r + eps) over `rows` rows of `cols` floats. */
  layerNormRows(x: Float32Array, out: Float32Array, rows: number, cols: number, eps: number): void;
  /** GroupNorm on x (B, C, HW), `groups` contiguous channel groups, then ·weight[c] + bias[c]. */
  groupNorm(
    x: Float32Array, out: Float32Array, B: number, C: number, HW: number, groups: number,
    weight: Float32Array, bias: Float32Array, eps: number,
  ): void;
  /** Softmax over each of `rows` rows of `cols` floats. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** GELU (tanh approximation) of the first n floats. */
  geluTanh(x: Float32Array, out: Float32Array, n: number): void;
  /** SiLU of the first n floats. */
  silu(x: Float32Array, out: Float32Array, n: number): void;
}

/** The optional fast paths a dense engine may provide (see engines/contract.ts). */
export interface DenseFastPaths {
  linear(x: Float32Array, rows: number, inF: number, weight: Float32Array, outF: number, bias: Float32Array | null, y: Float32Array): void;
  conv2d(args: Conv2dArgs): void;
  layerNormRows: ElementwiseEngine['layerNormRows'];
  groupNorm: ElementwiseEngine['groupNorm'];
  softmaxRows: ElementwiseEngine['softmaxRows'];
  geluTanh: ElementwiseEngine['geluTanh'];
  silu: ElementwiseEngine['silu'];
  /**
   * A transformer FFN in one call: y (rows×inF) = fc2(GELU_tanh(fc1(x))), fc1 (hidden×inF), fc2 (inF×hidden), both
   * weights pinned like linear's, biases added. Must compute what linear → geluTanh → linear compute on this engine.
   */
  feedForward(
    x: Float32Array, rows: number, inF: number, fc1: Float32Array, fc1Bias: Float32Array | null, hidden: number,
    fc2: Float32Array, fc2Bias: Float32Array | null, y: Float32Array,
  ): void;
  /**
   * Runs a whole feature-map net (ops/feature-net.ts) on x (B, C, H, W) into y (its output shape, preallocated);
   * returns false, having written nothing, when the engine cannot run this net (core then runs it op by op).
   */
  featureNet(net: FeatureNet, x: Float32Array, shape: readonly [number, number, number, number], y: Float32Array): boolean;
}

/** The arguments of a dense engine's conv2d fast path: NCHW input, (Co, Ci, kh, kw) weight, preallocated output. */
export interface Conv2dArgs {
  x: Float32Array; batch: number; inChannels: number; height: number; width: number;
  weight: Float32Array; outChannels: number; kernelH: number; kernelW: number; bias: Float32Array | null;
  strideH: number; strideW: number; padH: number; padW: number; y: Float32Array; outH: number; outW: number;
}

/** The shape of a dense engine as the ops see it (the full contract, with its registry id, is engines/contract.ts). */
export interface ActiveDenseEngine extends Partial<DenseFastPaths> {
  readonly id: string;
  readonly name: string;
  readonly gemmNT: GemmNT;
  dispose?(): void | Promise<void>;
}

export const ELEMENTWISE_KERNELS = ['layerNormRows', 'groupNorm', 'softmaxRows', 'geluTanh', 'silu'] as const;
export const FAST_PATHS = ['linear', 'conv2d', ...ELEMENTWISE_KERNELS, 'feedForward', 'featureNet'] as const;
export type FastPathName = (typeof FAST_PATHS)[number];

/**
 * What the ops dispatch to, process-wide. `setDenseEngine` fills every slot from one engine; the older
 * `setGemmEngine` / `setElementwiseEngine` replace one slot each (and the active engine is then no longer one
 * dense engine, so `getDenseEngine()` reports null and `activeEngineInfo()` a 'custom' mix).
 */
interface ActiveState {
  gemm: GemmEngine;
  kernels: Partial<DenseFastPaths>;
  dense: ActiveDenseEngine | null;
  elementwise: ElementwiseEngine | null;
  /** Whether anyone chose the engine (so loadVAR without an `engine` option keeps it instead of selecting one). */
  chosen: boolean;
}

let state: ActiveState = { gemm: jsGemmEngine, kernels: {}, dense: null, elementwise: null, chosen: false };

/** The engine `gemmNT` dispatches to. */
export function getGemmEngine(): GemmEngine {
  return state.gemm;
}

/**
 * Replaces the GEMM for every later call (process-wide); `null` restores the default plain-JS engine. The active
 * dense engine's linear/conv2d fast paths are dropped (they would bypass the new GEMM); its elementwise ones stay.
 */
export function setGemmEngine(engine: GemmEngine | null): void {
  if (engine !== null && (typeof engine !== 'object' || typeof engine.gemmNT !== 'function')) {
    throw new TypeError('setGemmEngine expects { name, gemmNT } or null');
  }
  const { linear: _l, conv2d: _c, feedForward: _ff, featureNet: _f, ...kernels } = state.kernels;
  state = { ...state, gemm: engine ?? jsGemmEngine, kernels, dense: null, chosen: true };
}

/** The elementwise engine (set with setElementwiseEngine, or the active dense engine's five row-wise kernels), or null. */
export function getElementwiseEngine(): ElementwiseEngine | null {
  return state.elementwise;
}

/** Replaces the elementwise engine for every later call (process-wide); `null` restores the TypeScript loops. */
export function setElementwiseEngine(engine: ElementwiseEngine | null): void {
  if (engine !== null) {
    if (typeof engine !== 'object' || ELEMENTWISE_KERNELS.some((k) => typeof engine[k] !== 'function')) {
      throw new TypeError(`setElementwiseEngine expects { name, ${ELEMENTWISE_KERNELS.join(', ')} } or null`);
    }
  }
  const kernels: Partial<DenseFastPaths> = { linear: state.kernels.linear, conv2d: state.kernels.conv2d };
  if (engine) for (const k of ELEMENTWISE_KERNELS) (kernels as Record<string, unknown>)[k] = engine[k].bind(engine);
  state = { ...state, kernels: dropUndefined(kernels), elementwise: engine, dense: null, chosen: true };
}

/**
 * Makes `engine` the one every op dispatches to (process-wide): its gemmNT behind matmul/linear/conv2d and each
 * fast path it provides; ops whose fast path it lacks run on its gemmNT or their TypeScript loops. `null` restores
 * the TypeScript reference (core's 'js' engine). Replaces anything set with setGemmEngine/setElementwiseEngine.
 */
export function setDenseEngine(engine: ActiveDenseEngine | null): void {
  if (engine !== null) validateDenseEngine(engine);
  const kernels: Partial<DenseFastPaths> = {};
  if (engine) {
    for (const k of FAST_PATHS) {
      const f = engine[k] as ((...args: never[]) => void) | undefined;
      if (f !== undefined) (kernels as Record<string, unknown>)[k] = f.bind(engine);
    }
  }
  const gemm = engine === null || engine.gemmNT === jsGemmEngine.gemmNT ? jsGemmEngine : { name: engine.name, gemmNT: engine.gemmNT };
  // the older getElementwiseEngine() sees an engine with all five row-wise kernels as its elementwise engine
  const complete = ELEMENTWISE_KERNELS.every((k) => kernels[k] !== undefined);
  const elementwise = engine && complete ? ({ name: engine.name, ...kernels } as ElementwiseEngine) : null;
  state = { gemm, kernels, dense: engine, elementwise, chosen: true };
}

/** The dense engine set with setDenseEngine, or null (the TypeScript reference, or a mix set with the older setters). */
export function getDenseEngine(): ActiveDenseEngine | null {
  return state.dense;
}

/** Which engine the ops run on now: `{ id, name }` ('js' for the reference, 'custom' for a mix of older setters). */
export function activeEngineInfo(): { id: string; name: string } {
  if (state.dense) return { id: state.dense.id, name: state.dense.name };
  if (state.gemm === jsGemmEngine && Object.keys(state.kernels).length === 0) return { id: 'js', name: jsGemmEngine.name };
  const parts = [state.gemm.name, ...(state.elementwise ? [state.elementwise.name] : [])];
  return { id: 'custom', name: parts.join(' + ') };
}

/** Whether an engine was chosen explicitly (any of the setters ran); loadVAR selects one only when none was. */
export function engineWasChosen(): boolean {
  return state.chosen;
}

/** The active engine's fast path `name`, or undefined (the op then runs its own loops). */
export function fastPath<K extends FastPathName>(name: K): DenseFastPaths[K] | undefined {
  return state.kernels[name];
}

/**
 * Runs `fn` with the TypeScript reference active and restores the previous state afterwards (the conformance
 * suite computes its expected values this way).
 */
export function withReferenceEngine<T>(fn: () => T): T {
  return withDenseEngine(null, fn);
}

/** Runs `fn` with `engine` active (null: the reference) and restores the previous state afterwards. */
export function withDenseEngine<T>(engine: ActiveDenseEngine | null, fn: () => T): T {
  const saved = state;
  setDenseEngine(engine);
  try {
    return fn();
  } finally {
    state = saved;
  }
}

function validateDenseEngine(engine: ActiveDenseEngine): void {
  if (typeof engine !== 'object' || engine === null || typeof engine.gemmNT !== 'function') {
    throw new TypeError('setDenseEngine expects a dense engine { id, name, gemmNT, … } or null');
  }
  for (const k of ['id', 'name'] as const) {
    if (typeof engine[k] !== 'string' || !engine[k]) throw new TypeError(`setDenseEngine: the engine's ${k} must be a non-empty string`);
  }
  for (const k of FAST_PATHS) {
    if (engine[k] !== undefined && typeof engine[k] !== 'function') {
      throw new TypeError(`setDenseEngine: engine "${engine.id}" has a ${k} that is not a function`);
    }
  }
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** C = A·Bᵀ through the current engine (see the module comment for the layout). */
export function gemmNT(
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
  if (m === 0 || n === 0) return;
  checkOperand('A', m, k, a, aOff, lda);
  checkOperand('B', n, k, b, bOff, ldb);
  checkOperand('C', m, n, c, cOff, ldc);
  state.gemm.gemmNT(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
}

/** O(1) bounds check of a rows × cols operand at `off` with row stride `ld` (so no engine reads past an array). */
function checkOperand(what: string, rows: number, cols: number, arr: Float32Array, off: number, ld: number): void {
  const ok =
    Number.isInteger(rows) && Number.isInteger(cols) && Number.isInteger(off) && Number.isInteger(ld) &&
    rows >= 0 && cols >= 0 && off >= 0 && ld >= cols && (rows === 0 || off + (rows - 1) * ld + cols <= arr.length);
  if (!ok) {
    throw new RangeError(
      `gemmNT: ${what} (${rows}×${cols}, offset ${off}, leading dim ${ld}) does not fit its array of ${arr.length} floats`,
    );
  }
}

function jsGemmNT(
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
  if (m === 0 || n === 0) return;
  if (k === 0) {
    for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
    return;
  }
  // split K into equal blocks of at most KC
  const kBlock = Math.ceil(k / Math.ceil(k / KC));
  for (let p0 = 0; p0 < k; p0 += kBlock) {
    const kb = Math.min(kBlock, k - p0);
    const accumulate = p0 > 0;
    // panel height: a multiple of 4 rows of B, kb floats each, about PANEL_BYTES in all
    const nc = Math.max(4, Math.floor(PANEL_BYTES / (4 * kb)) & ~3);
    for (let j0 = 0; j0 < n; j0 += nc) {
      const nb = Math.min(nc, n - j0);
      panel(m, nb, kb, a, aOff + p0, lda, b, bOff + j0 * ldb + p0, ldb, c, cOff + j0, ldc, accumulate);
    }
  }
}

/** One panel: all rows of A against nb rows of B, over kb values of K. */
function panel(
  m: number,
  nb: number,
  kb: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = aOff + i * lda;
    const a1 = a0 + lda;
    const a2 = a1 + lda;
    const a3 = a2 + lda;
    let j = 0;
    for (; j + 4 <= nb; j += 4) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < kb; p++) {
        const x0 = a[a0 + p]!;
        const x1 = a[a1 + p]!;
        const x2 = a[a2 + p]!;
        const x3 = a[a3 + p]!;
        let y = b[b0 + p]!;
        c00 += x0 * y; c10 += x1 * y; c20 += x2 * y; c30 += x3 * y;
        y = b[b1 + p]!;
        c01 += x0 * y; c11 += x1 * y; c21 += x2 * y; c31 += x3 * y;
        y = b[b2 + p]!;
        c02 += x0 * y; c12 += x1 * y; c22 += x2 * y; c32 += x3 * y;
        y = b[b3 + p]!;
        c03 += x0 * y; c13 += x1 * y; c23 += x2 * y; c33 += x3 * y;
      }
      let o = cOff + i * ldc + j;
      if (acc) {
        c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc;
        c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += ldc;
        c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += ldc;
        c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
      } else {
        c[o] = c00; c[o + 1] = c01; c[o + 2] = c02; c[o + 3] = c03; o += ldc;
        c[o] = c10; c[o + 1] = c11; c[o + 2] = c12; c[o + 3] = c13; o += ldc;
        c[o] = c20; c[o + 1] = c21; c[o + 2] = c22; c[o + 3] = c23; o += ldc;
        c[o] = c30; c[o + 1] = c31; c[o + 2] = c32; c[o + 3] = c33;
      }
    }
    // leftover rows of B (nb % 4): 4×1 blocks
    for (; j < nb; j++) {
      const b0 = bOff + j * ldb;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < kb; p++) {
        const y = b[b0 + p]!;
        s0 += a[a0 + p]! * y;
        s1 += a[a1 + p]! * y;
        s2 += a[a2 + p]! * y;
        s3 += a[a3 + p]! * y;
      }
      const o = cOff + i * ldc + j;
      if (acc) {
        c[o] += s0; c[o + ldc] += s1; c[o + 2 * ldc] += s2; c[o + 3 * ldc] += s3;
      } else {
        c[o] = s0; c[o + ldc] = s1; c[o + 2 * ldc] = s2; c[o + 3 * ldc] = s3;
      }
    }
  }
  // leftover rows of A (m % 4): 2×4 then 1×4 blocks (the m = 1, 2 cases are VAR's first scales)
  for (; i + 2 <= m; i += 2) rows2(i, nb, kb, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, acc);
  for (; i < m; i++) rows1(i, nb, kb, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, acc);
}

function rows2(
  i: number,
  nb: number,
  kb: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  const a0 = aOff + i * lda;
  const a1 = a0 + lda;
  let j = 0;
  for (; j + 4 <= nb; j += 4) {
    const b0 = bOff + j * ldb;
    const b1 = b0 + ldb;
    const b2 = b1 + ldb;
    const b3 = b2 + ldb;
    let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
    let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
    for (let p = 0; p < kb; p++) {
      const x0 = a[a0 + p]!;
      const x1 = a[a1 + p]!;
      let y = b[b0 + p]!;
      c00 += x0 * y; c10 += x1 * y;
      y = b[b1 + p]!;
      c01 += x0 * y; c11 += x1 * y;
      y = b[b2 + p]!;
      c02 += x0 * y; c12 += x1 * y;
      y = b[b3 + p]!;
      c03 += x0 * y; c13 += x1 * y;
    }
    let o = cOff + i * ldc + j;
    if (acc) {
      c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc;
      c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13;
    } else {
      c[o] = c00; c[o + 1] = c01; c[o + 2] = c02; c[o + 3] = c03; o += ldc;
      c[o] = c10; c[o + 1] = c11; c[o + 2] = c12; c[o + 3] = c13;
    }
  }
  for (; j < nb; j++) {
    const b0 = bOff + j * ldb;
    let s0 = 0, s1 = 0;
    for (let p = 0; p < kb; p++) {
      const y = b[b0 + p]!;
      s0 += a[a0 + p]! * y;
      s1 += a[a1 + p]! * y;
    }
    const o = cOff + i * ldc + j;
    if (acc) {
      c[o] += s0; c[o + ldc] += s1;
    } else {
      c[o] = s0; c[o + ldc] = s1;
    }
  }
}

function rows1(
  i: number,
  nb: number,
  kb: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  const a0 = aOff + i * lda;
  let j = 0;
  for (; j + 4 <= nb; j += 4) {
    const b0 = bOff + j * ldb;
    const b1 = b0 + ldb;
    const b2 = b1 + ldb;
    const b3 = b2 + ldb;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0; p < kb; p++) {
      const x = a[a0 + p]!;
      s0 += x * b[b0 + p]!;
      s1 += x * b[b1 + p]!;
      s2 += x * b[b2 + p]!;
      s3 += x * b[b3 + p]!;
    }
    const o = cOff + i * ldc + j;
    if (acc) {
      c[o] += s0; c[o + 1] += s1; c[o + 2] += s2; c[o + 3] += s3;
    } else {
      c[o] = s0; c[o + 1] = s1; c[o + 2] = s2; c[o + 3] = s3;
    }
  }
  for (; j < nb; j++) {
    const b0 = bOff + j * ldb;
    let s = 0;
    for (let p = 0; p < kb; p++) s += a[a0 + p]! * b[b0 + p]!;
    const o = cOff + i * ldc + j;
    if (acc) c[o] += s;
    else c[o] = s;
  }
}
