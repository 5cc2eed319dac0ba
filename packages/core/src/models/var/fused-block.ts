/**
 * A whole transformer block as one dense-engine call (issue #24): an engine that offers `transformerBlock` runs the
 * block's AdaLN modulation, layer norms, qkv, attention over a KV cache it holds, projection, residuals and FFN in one
 * call, instead of ~8 engine calls with core's loops and the router's attention between them.
 *
 * The attention is then computed inside the engine, so this is allowed only where the attention policy routed every
 * head group of the block to exact attention on the CPU (FUSABLE_BACKENDS): the fused kernel computes the same
 * function, and is checked like a backend against core's reference (engine-onnx's block-graph.test.ts). Anything else
 * (low-rank heads, the gpu backend, a mix) keeps the split at the attention seam. The trace still records the
 * policy's decision for every head group, with `fusedIn` naming the engine that ran it. Intermediate captures (tests)
 * need the block's inner tensors, so a run with a capture is never fused.
 */
import type { AttentionCall } from '../../attention/policy.js';
import type { AttentionRouter } from '../../attention/router.js';
import type { AttentionTrace } from '../../attention/trace.js';
import { getDenseEngine } from '../../engines/active.js';
import { Tensor } from '../../tensor.js';
import type { VARConfig } from './config.js';
import type { VARBlockWeights } from './weights.js';

/** A block's weights as flat arrays, PyTorch's (out, in) layout; qScale exactly when attention is l2-normalised. */
export interface FusedBlockWeights {
  qkvWeight: Float32Array;
  /** cat(q_bias, zeros, v_bias). */
  qkvBias: Float32Array;
  qScale?: Float32Array;
  projWeight: Float32Array;
  projBias: Float32Array;
  fc1Weight: Float32Array;
  fc1Bias: Float32Array;
  fc2Weight: Float32Array;
  fc2Bias: Float32Array;
}

export interface FusedBlockShape {
  width: number;
  heads: number;
  headDim: number;
  hidden: number;
  eps: number;
  /** Softmax scale τ. */
  scale: number;
}

export interface FusedBlockArgs {
  weights: FusedBlockWeights;
  shape: FusedBlockShape;
  /** (batch, tokens, width). */
  x: Float32Array;
  batch: number;
  tokens: number;
  /** (batch, 6·width): [gamma1, gamma2, scale1, scale2, shift1, shift2] (adaln.ts BLOCK_SLOTS). */
  modulation: Float32Array;
  /** Next-scale inference: the caller's key for this block's engine-held KV cache. Null: teacher forcing. */
  cache: object | null;
  /** Teacher forcing: cumulative token counts per scale (the block-causal mask). */
  scaleEnds?: readonly number[];
  /**
   * Next-scale inference: the tokens later steps read back, i.e. every scale's but the last (nothing attends to the last
   * scale's keys and values afterwards, so an engine neither keeps them nor reserves room for them; at B=8 on d16 that
   * is 38% of the cache). An engine may reserve this many at once; a step past it is the generation's last.
   */
  maxTokens?: number;
}

/** The optional dense-engine methods behind the fused block (duck-typed on the active engine: engines/contract.ts is not widened). */
export interface TransformerBlockEngine {
  readonly id: string;
  readonly name: string;
  /** Whether the engine can run this block fused; asked once per block and run, before its first call. */
  acceptsTransformerBlock(weights: FusedBlockWeights, shape: FusedBlockShape): boolean;
  /** The block's output (batch, tokens, width); with a cache, this call's keys/values are appended to it first. */
  transformerBlock(args: FusedBlockArgs): Promise<Float32Array>;
  /** Drops the KV cache kept under `cache`. */
  releaseTransformerBlockCache(cache: object): void;
}

/** Exact attention computed on the CPU: what the fused block computes inside the engine. */
export const FUSABLE_BACKENDS: ReadonlySet<string> = new Set(['cpu', 'exact-test']);

/** Block i on (x, its modulation rows) → the block's output. */
export type FusedBlockFn = (x: Tensor, m: Tensor) => Promise<Tensor>;

function blockEngine(): TransformerBlockEngine | null {
  const e = getDenseEngine() as (Partial<TransformerBlockEngine> & { id: string; name: string }) | null;
  return e && typeof e.transformerBlock === 'function' && typeof e.acceptsTransformerBlock === 'function'
    ? (e as TransformerBlockEngine)
    : null;
}

function blockWeights(b: VARBlockWeights): FusedBlockWeights {
  return {
    qkvWeight: b.qkvWeight.data,
    qkvBias: b.qkvBias.data,
    ...(b.qScale ? { qScale: b.qScale } : {}),
    projWeight: b.projWeight.data,
    projBias: b.projBias.data,
    fc1Weight: b.fc1Weight.data,
    fc1Bias: b.fc1Bias.data,
    fc2Weight: b.fc2Weight.data,
    fc2Bias: b.fc2Bias.data,
  };
}

export type FusedMode = { cache: object } | { scaleEnds: readonly number[] };

/**
 * Block `call.layer` as one engine call when the active engine offers it, the policy routed every head group to a
 * fusable backend and the engine accepts the block; the decisions are then recorded in the trace (once, as
 * openState/attend would record them, plus `fusedIn`). Otherwise null, with nothing recorded: the caller runs the
 * block op by op through the router, which records its decisions as always.
 */
export function fusedBlock(
  router: AttentionRouter,
  trace: AttentionTrace,
  call: AttentionCall,
  block: VARBlockWeights,
  config: VARConfig,
  mode: FusedMode,
): FusedBlockFn | null {
  const engine = blockEngine();
  if (!engine) return null;
  const groups = router.decide(call);
  if (
    !groups.every(
      (g) =>
        FUSABLE_BACKENDS.has(g.backend) &&
        router.available.some((a) => a.descriptor.id === g.backend && a.descriptor.exact),
    )
  )
    return null;
  const weights = blockWeights(block);
  const [hidden] = block.fc1Weight.shape as [number, number];
  const shape: FusedBlockShape = {
    width: config.embedDim,
    heads: config.numHeads,
    headDim: config.headDim,
    hidden,
    eps: config.normEps,
    scale: call.scale,
  };
  if (!engine.acceptsTransformerBlock(weights, shape)) return null;
  for (const g of groups) {
    trace.add({
      ...g,
      site: call.site,
      layer: call.layer,
      policy: router.policy.name,
      fusedIn: engine.id,
      reason: `${g.reason}; exact attention ran fused inside engine ${engine.id} (the whole block as one call)`,
    });
  }
  const cache = 'cache' in mode ? mode.cache : null;
  const scaleEnds = 'scaleEnds' in mode ? mode.scaleEnds : undefined;
  return async (x, m) => {
    const [batch, tokens] = x.shape as [number, number, number];
    const y = await engine.transformerBlock({
      weights,
      shape,
      x: x.data,
      batch,
      tokens,
      modulation: m.data,
      cache,
      ...(scaleEnds ? { scaleEnds } : { maxTokens: call.scaleEnds.at(-2) ?? 0 }),
    });
    return new Tensor(x.shape, y);
  };
}

/** Drops the engine-held KV cache of a fused block (the end of a generation). */
export function releaseFusedCache(cache: object): void {
  blockEngine()?.releaseTransformerBlockCache(cache);
}
