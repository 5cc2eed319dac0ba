/**
 * VAR's SelfAttention around the router (docs/var-port.md §4.3): the qkv projection with its
 * [q_bias, 0, v_bias] bias, the (3, H, hd) split, l2-normalised q/k with the learned per-head scale,
 * and the head merge. The attention itself is whatever the router's backend computes.
 */
import type { AttentionCall, HeadBound } from '../../attention/policy.js';
import { linear } from '../../engines/calls.js';
import { Tensor } from '../../tensor.js';
import type { VARConfig } from './config.js';
import type { VARBlockWeights } from './weights.js';

export interface HeadsQKV {
  /** (N, H, T, hd); l2-normalised and × exp(min(scale_mul, ln 100)) when attention is l2-norm. */
  q: Tensor;
  /** (N, H, T, hd); l2-normalised when attention is l2-norm. */
  k: Tensor;
  /** (N, H, T, hd). */
  v: Tensor;
}

/** x (N, T, C) → q, k, v per head. */
export async function projectQKV(x: Tensor, block: VARBlockWeights, config: VARConfig): Promise<HeadsQKV> {
  const [N, T, C] = x.shape as [number, number, number];
  const H = config.numHeads;
  const hd = config.headDim;
  const qkv = (await linear(x, block.qkvWeight, block.qkvBias)).data;
  const [q, k, v] = [0, 1, 2].map(() => new Tensor([N, H, T, hd])) as [Tensor, Tensor, Tensor];
  const l2 = config.attnL2Norm;
  const qScale = block.qScale;
  // One pass: output channel s·C + h·hd + d is part s (q, k, v) of head h. With l2-norm attention, q and k are
  // l2-normalised per head (l2Normalize's float64 norm, eps 1e-12) and q is then × its head's scale, each step
  // rounded to float32 as the separate ops would round it.
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      const src = (n * T + t) * 3 * C;
      for (let h = 0; h < H; h++) {
        const o = ((n * H + h) * T + t) * hd;
        for (let part = 0; part < 3; part++) {
          const from = src + part * C + h * hd;
          const dst = (part === 0 ? q : part === 1 ? k : v).data;
          if (!l2 || part === 2) {
            for (let d = 0; d < hd; d++) dst[o + d] = qkv[from + d];
            continue;
          }
          let sq = 0;
          for (let d = 0; d < hd; d++) sq += qkv[from + d] * qkv[from + d];
          const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
          if (part === 1) for (let d = 0; d < hd; d++) dst[o + d] = qkv[from + d] * inv;
          else {
            const sc = qScale![h];
            for (let d = 0; d < hd; d++) dst[o + d] = Math.fround(qkv[from + d] * inv) * sc;
          }
        }
      }
    }
  }
  return { q, k, v };
}

/** (N, H, T, hd) → (N, T, C): heads side by side in each token's row. */
export function mergeHeads(o: Tensor): Tensor {
  const [N, H, T, hd] = o.shape as [number, number, number, number];
  const out = new Tensor([N, T, H * hd]);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        out.data.set(
          o.data.subarray(((n * H + h) * T + t) * hd, ((n * H + h) * T + t + 1) * hd),
          (n * T + t) * H * hd + h * hd,
        );
      }
    }
  }
  return out;
}

/** The output projection. */
export function projectOutput(o: Tensor, block: VARBlockWeights): Promise<Tensor> {
  return linear(mergeHeads(o), block.projWeight, block.projBias);
}

/**
 * What the policy sees of block `layer`'s attention. l2-normalised heads carry their static logit
 * bound: |q·k| ≤ ‖q‖‖k‖ = exp(min(scale_mul, ln 100)) with scale 1.
 */
export function blockAttentionCall(
  config: VARConfig,
  block: VARBlockWeights,
  layer: number,
  batch: number,
  scaleEnds: readonly number[],
): AttentionCall {
  const headBounds: HeadBound[] | undefined = block.qScale
    ? Array.from(block.qScale, (beta) => ({ beta, source: 'l2-static' as const }))
    : undefined;
  return {
    site: `var.blocks.${layer}.attn`,
    layer,
    batch,
    heads: config.numHeads,
    headDim: config.headDim,
    scale: config.attnScale,
    mask: 'block-causal',
    scaleEnds,
    ...(headBounds ? { headBounds } : {}),
  };
}
