/**
 * The dense-engine contract's shapes as this package uses them (core's engines/dense-contract.ts). Structural, so the engine
 * satisfies core's `DenseEngine` without importing its types at run time.
 */
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

export interface DenseEngineLike {
  readonly id: string;
  readonly name: string;
  linear(
    x: Float32Array,
    rows: number,
    inF: number,
    weight: Float32Array,
    outF: number,
    bias: Float32Array | null,
    y: Float32Array,
  ): Promise<void>;
  conv2d(a: Conv2dArgs): Promise<void>;
  layerNormRows(x: Float32Array, out: Float32Array, rows: number, cols: number, eps: number): Promise<void>;
  geluTanh(x: Float32Array, out: Float32Array, n: number): Promise<void>;
  silu(x: Float32Array, out: Float32Array, n: number): Promise<void>;
  dispose(): Promise<void>;
}

interface TensorLike {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** core's FeatureNet (ops/feature-net.ts), structurally. */
export interface FeatureNetLike {
  readonly label: string;
  readonly inChannels: number;
  readonly nodes: readonly (
    | { op: 'conv2d'; x: number; weight: TensorLike; bias: TensorLike | null; stride: number; padding: number }
    | { op: 'groupNorm'; x: number; weight: TensorLike; bias: TensorLike; groups: number; eps: number }
    | { op: 'silu'; x: number }
    | { op: 'add'; a: number; b: number }
    | { op: 'upsampleNearest2x'; x: number }
  )[];
}
