/**
 * The dense-engine contract's shapes as this package uses them: core's own types (type-only imports, erased at build
 * time), and DenseEngineLike, the fast paths this engine always provides (core's DenseEngine has them optional).
 */
import type { DenseConv2dArgs } from '@nextscale/core/engines';
import type { FeatureNet } from '@nextscale/core/ops';

export type Conv2dArgs = DenseConv2dArgs;
/** core's FeatureNet (engines/dense-contract.ts): a VQ-VAE stretch handed whole to featureNet. */
export type FeatureNetLike = FeatureNet;

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
  linearOnce: DenseEngineLike['linear'];
  conv2d(a: Conv2dArgs): Promise<void>;
  layerNormRows(x: Float32Array, out: Float32Array, rows: number, cols: number, eps: number): Promise<void>;
  geluTanh(x: Float32Array, out: Float32Array, n: number): Promise<void>;
  silu(x: Float32Array, out: Float32Array, n: number): Promise<void>;
  dispose(): Promise<void>;
}
