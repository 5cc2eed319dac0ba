/**
 * One AdaLNSelfAttn block (eval mode, drop-path identity):
 *   x = x + Attn(LN(x)·(1+scale1) + shift1)·gamma1
 *   x = x + FFN(LN(x)·(1+scale2) + shift2)·gamma2
 * The attention step is a callback so that teacher forcing (one masked call) and next-scale
 * inference (append to the KV state, attend this scale's queries) share the block.
 */
import { layerNorm } from '../../engines/calls.js';
import type { Tensor } from '../../tensor.js';
import { addGatedInPlace, BLOCK_SLOTS, modulateInPlace } from './adaln.js';
import type { VARConfig } from './config.js';
import { feedForward } from './feed-forward.js';
import { projectOutput, projectQKV } from './self-attention.js';
import type { VARBlockWeights } from './weights.js';

/** Attention core: (q, k, v) each (N, H, T, hd) → softmax(τ q kᵀ [+ mask]) v over the keys it may see. */
export type AttendFn = (q: Tensor, k: Tensor, v: Tensor) => Promise<Tensor>;
/** Receives intermediate tensors by name (x_in, q, k, v, attn_core, attn_out, ffn_out, out); for tests. */
export type EmitFn = (name: string, value: Tensor) => void;

/** Runs the block on x (N, T, C) with modulation m (N, 6C); returns the new x (x itself is not modified). */
export async function runBlock(
  x: Tensor,
  m: Tensor,
  block: VARBlockWeights,
  config: VARConfig,
  attend: AttendFn,
  emit?: EmitFn,
): Promise<Tensor> {
  emit?.('x_in', x);
  const h = await layerNorm(x, config.normEps);
  modulateInPlace(h, m, BLOCK_SLOTS.scale1, BLOCK_SLOTS.shift1);
  const { q, k, v } = await projectQKV(h, block, config);
  emit?.('q', q);
  emit?.('k', k);
  emit?.('v', v);
  const core = await attend(q, k, v);
  emit?.('attn_core', core);
  const attnOut = await projectOutput(core, block);
  emit?.('attn_out', attnOut);
  const out = x.clone();
  addGatedInPlace(out, attnOut, m, BLOCK_SLOTS.gamma1);

  const h2 = await layerNorm(out, config.normEps);
  modulateInPlace(h2, m, BLOCK_SLOTS.scale2, BLOCK_SLOTS.shift2);
  const ffnOut = await feedForward(h2, block);
  emit?.('ffn_out', ffnOut);
  addGatedInPlace(out, ffnOut, m, BLOCK_SLOTS.gamma2);
  emit?.('out', out);
  return out;
}
