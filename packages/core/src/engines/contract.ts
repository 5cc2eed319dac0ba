/**
 * The dense-engine contract: a dense engine computes core's dense work (the GEMM behind matmul/linear/conv2d and,
 * optionally, its own linear, conv2d and row-wise kernels). Engines plug in like attention backends: a package
 * exports a descriptor (`engine`, the shape of plugs/contract.ts) and a `/register` side-effect entry that puts it
 * into the default registry.
 *
 * The seam is asynchronous like the attention contract's: the model code awaits every fast path (engines/calls.ts),
 * so an engine whose native API is asynchronous (ONNX Runtime) calls it directly, and a synchronous one (WebAssembly)
 * just returns. The shapes it exchanges are in engines/dense-contract.ts.
 */
import type { Conv2dArgs, DenseFastPaths, GemmNT } from './dense-contract.js';
import type { PlugDescriptor } from '../plugs/contract.js';

export type { Conv2dArgs, GemmNT };

export const ENGINE_API_VERSION = 1 as const;

export interface DenseEngine extends Partial<DenseFastPaths> {
  /** Registry id: 'js' | 'wasm' | 'onnx' | … */
  readonly id: string;
  /** Executor detail for diagnostics, e.g. 'wasm-simd-4x8-t2'. */
  readonly name: string;
  /**
   * C = A·Bᵀ exactly as engines/dense-contract.ts's GemmNT (C overwritten; k = 0 gives zeros), synchronous: the
   * GEMM behind core's synchronous ops (matmul, and linear/conv2d where the engine has no fast path). Optional: an
   * engine without one (its native API is asynchronous) leaves that work to core's TypeScript GEMM.
   */
  readonly gemmNT?: GemmNT;
  /**
   * y (rows×outF) = x (rows×inF)·Wᵀ (+ bias). `weight` is a model weight: the same Float32Array object on every
   * call, so an engine may pin it natively once (keyed by identity, e.g. a WeakMap). Called with inF ≥ 1.
   */
  linear?: DenseFastPaths['linear'];
  /** linear with a weight that is not a model weight: read for this call only, never pinned (see DenseFastPaths). */
  linearOnce?: DenseFastPaths['linearOnce'];
  /**
   * NCHW 2-D convolution (cross-correlation), weight (Co, Ci, kh, kw) pinned like linear's, y preallocated
   * (B, Co, Ho, Wo) and overwritten, bias added when non-null. Called only with symmetric padding (padH top and
   * bottom, padW left and right): core pads an asymmetrically padded input itself first (ops/conv2d.ts).
   */
  conv2d?: DenseFastPaths['conv2d'];
  /** Row-wise / elementwise kernels with the contracts of ElementwiseEngine (engines/dense-contract.ts). */
  layerNormRows?: DenseFastPaths['layerNormRows'];
  groupNorm?: DenseFastPaths['groupNorm'];
  softmaxRows?: DenseFastPaths['softmaxRows'];
  geluTanh?: DenseFastPaths['geluTanh'];
  silu?: DenseFastPaths['silu'];
  /** The transformer FFN fc2(GELU_tanh(fc1(x))) in one call (weights pinned like linear's); see DenseFastPaths. */
  feedForward?: DenseFastPaths['feedForward'];
  /**
   * A whole feature-map net (engines/dense-contract.ts's FeatureNet: the VQ-VAE's conv / GroupNorm / SiLU / add /
   * upsample stretches) in one call. `net` is the same object on every call for the same stretch, and its weights are model weights (pin them
   * like linear's). Returns false, having written nothing, for a net it cannot run; core then runs its ops one by one.
   */
  featureNet?: DenseFastPaths['featureNet'];
  /**
   * The model will not run with these weight arrays again (generate's `releaseTransformer`): free what the engine
   * holds for them now (native copies, sessions) instead of when the arrays are collected. Arrays it holds nothing
   * for are ignored.
   */
  forget?(weights: readonly Float32Array[]): void | Promise<void>;
  dispose?(): void | Promise<void>;
}

export interface EngineCreateOptions extends Record<string, unknown> {
  /** Threads including the calling one (the engine's default when absent). */
  threads?: number;
}

export interface DenseEngineDescriptor extends PlugDescriptor<EngineCreateOptions, DenseEngine> {
  readonly kind: 'engine';
  readonly apiVersion: typeof ENGINE_API_VERSION;
  /** Higher wins when no engine is named: core's 'js' = 0, engine-wasm = 10, engine-onnx = 20. */
  readonly priority: number;
}
