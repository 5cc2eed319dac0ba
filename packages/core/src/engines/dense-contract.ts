/**
 * The dense contract's data shapes: the GEMM every engine's linear algebra reduces to, the fast paths an engine may
 * provide, and the feature-map nets (ops/feature-net.ts) it may run whole. engines/contract.ts assembles them into
 * `DenseEngine`; engines/active.ts keeps the one the model runs on.
 *
 * The GEMM is the "NT" product, the layout in which both operands are read along contiguous rows:
 *
 *   C[i, j] = Σ_p A[i, p] · B[j, p]          0 ≤ i < m, 0 ≤ j < n, 0 ≤ p < k
 *
 * with A[i, p] = a[aOff + i·lda + p], B[j, p] = b[bOff + j·ldb + p], C[i, j] = c[cOff + i·ldc + j].
 * C is overwritten (not accumulated into); with k = 0 it is set to 0. The C region must not overlap A or B.
 * `linear` (x·Wᵀ) is this product as is, `conv2d` multiplies the weight (Co × Ci·kh·kw) by the transposed im2col
 * matrix, and `matmul` transposes its right operand once per call.
 */
import type { Tensor } from '../tensor.js';

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

/** A GEMM with a name (core's TypeScript one is ops/gemm.ts's jsGemmEngine). */
export interface GemmEngine {
  /** A short name for diagnostics and benchmarks. */
  readonly name: string;
  readonly gemmNT: GemmNT;
}

/**
 * Synchronous row-wise kernels (what engine-wasm implements). They keep the ops' contracts: norm statistics in
 * float64, the softmax's −Infinity/NaN behaviour, float32 results within a few ulp of the TypeScript ones.
 */
export interface ElementwiseEngine {
  readonly name: string;
  /** out[r, :] = (x[r, :] − μ_r)/√(σ²_r + eps) over `rows` rows of `cols` floats. */
  layerNormRows(x: Float32Array, out: Float32Array, rows: number, cols: number, eps: number): void;
  /** GroupNorm on x (B, C, HW), `groups` contiguous channel groups, then ·weight[c] + bias[c]. */
  groupNorm(
    x: Float32Array,
    out: Float32Array,
    B: number,
    C: number,
    HW: number,
    groups: number,
    weight: Float32Array,
    bias: Float32Array,
    eps: number,
  ): void;
  /** Softmax over each of `rows` rows of `cols` floats. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** GELU (tanh approximation) of the first n floats. */
  geluTanh(x: Float32Array, out: Float32Array, n: number): void;
  /** SiLU of the first n floats. */
  silu(x: Float32Array, out: Float32Array, n: number): void;
}

/** What a fast path returns: its result, or a promise of it (core awaits every fast path). */
export type Awaitable<T> = T | Promise<T>;

/**
 * The optional fast paths a dense engine may provide (see engines/contract.ts). Each may be synchronous or return a
 * promise: core awaits them (engines/calls.ts), so an engine with an asynchronous native API (ONNX Runtime's
 * `session.run`) calls it directly. The output arrays are the caller's: an engine writes them before it resolves.
 */
export interface DenseFastPaths {
  linear(
    x: Float32Array,
    rows: number,
    inF: number,
    weight: Float32Array,
    outF: number,
    bias: Float32Array | null,
    y: Float32Array,
  ): Awaitable<void>;
  /**
   * linear's product with a weight that lives for this call only (core/models/var/adaln-weights.ts: the AdaLN weights
   * read from their checkpoint at each generation, into one buffer reused for every weight). Unlike linear's, this
   * weight must not be pinned, cached or released: the next call may pass the same array with other values in it.
   */
  linearOnce(...a: Parameters<DenseFastPaths['linear']>): Awaitable<void>;
  conv2d(args: Conv2dArgs): Awaitable<void>;
  /** ElementwiseEngine's row-wise kernels, each possibly asynchronous. */
  layerNormRows(...a: Parameters<ElementwiseEngine['layerNormRows']>): Awaitable<void>;
  groupNorm(...a: Parameters<ElementwiseEngine['groupNorm']>): Awaitable<void>;
  softmaxRows(...a: Parameters<ElementwiseEngine['softmaxRows']>): Awaitable<void>;
  geluTanh(...a: Parameters<ElementwiseEngine['geluTanh']>): Awaitable<void>;
  silu(...a: Parameters<ElementwiseEngine['silu']>): Awaitable<void>;
  /**
   * A transformer FFN in one call: y (rows×inF) = fc2(GELU_tanh(fc1(x))), fc1 (hidden×inF), fc2 (inF×hidden), both
   * weights pinned like linear's, biases added. Must compute what linear → geluTanh → linear compute on this engine.
   */
  feedForward(
    x: Float32Array,
    rows: number,
    inF: number,
    fc1: Float32Array,
    fc1Bias: Float32Array | null,
    hidden: number,
    fc2: Float32Array,
    fc2Bias: Float32Array | null,
    y: Float32Array,
  ): Awaitable<void>;
  /**
   * Runs a whole feature-map net on x (B, C, H, W) into y (its output shape, preallocated); returns false, having
   * written nothing, when the engine cannot run this net (core then runs it op by op).
   */
  featureNet(
    net: FeatureNet,
    x: Float32Array,
    shape: readonly [number, number, number, number],
    y: Float32Array,
  ): Awaitable<boolean>;
}

/**
 * A fast path as core's synchronous ops take it (their optional last argument): it has done its work when it returns.
 * engines/calls.ts hands the ops a wrapper that starts the engine's (possibly asynchronous) fast path and awaits it
 * before the op's output is used.
 */
export type SyncKernel<K extends FastPathName> = (...args: Parameters<DenseFastPaths[K]>) => void;

/** The arguments of a dense engine's conv2d fast path: NCHW input, (Co, Ci, kh, kw) weight, preallocated output. */
export interface Conv2dArgs {
  x: Float32Array;
  batch: number;
  inChannels: number;
  height: number;
  width: number;
  weight: Float32Array;
  outChannels: number;
  kernelH: number;
  kernelW: number;
  bias: Float32Array | null;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  y: Float32Array;
  outH: number;
  outW: number;
}

export const ELEMENTWISE_KERNELS = ['layerNormRows', 'groupNorm', 'softmaxRows', 'geluTanh', 'silu'] as const;
export const FAST_PATHS = [
  'linear',
  'linearOnce',
  'conv2d',
  ...ELEMENTWISE_KERNELS,
  'feedForward',
  'featureNet',
] as const;
export type FastPathName = (typeof FAST_PATHS)[number];

/** A conv layer with symmetric padding (the only kind a FeatureNet holds). */
export interface FeatureConv {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
}

export interface FeatureGroupNorm {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly groups: number;
  readonly eps: number;
}

/** Value 0 is the net's input, value i + 1 is nodes[i]'s output; the last node's output is the net's output. */
export type FeatureNetNode =
  | ({ op: 'conv2d'; x: number } & FeatureConv)
  | ({ op: 'groupNorm'; x: number } & FeatureGroupNorm)
  | { op: 'silu'; x: number }
  | { op: 'add'; a: number; b: number }
  | { op: 'upsampleNearest2x'; x: number };

/** A stretch of the VQ-VAE recorded by ops/feature-net.ts's recordFeatureNet. */
export interface FeatureNet {
  /** What it is, e.g. 'decoder.up.1.block.0 … decoder.conv_out', for diagnostics. */
  readonly label: string;
  readonly inChannels: number;
  readonly nodes: readonly FeatureNetNode[];
}
