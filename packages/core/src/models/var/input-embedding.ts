/**
 * The transformer's input sequence (docs/var-port.md §4.1, §5.1): the class condition plus
 * pos_start for the first scale, word_embed of the VQ-VAE latent for the later ones, and every token
 * gets lvl_embed[its scale] + pos_1LC[its position].
 */
import { linear } from '../../engines/calls.js';
import { Tensor } from '../../tensor.js';
import type { VARConfig } from './config.js';
import { tokenLevels } from './patch-schedule.js';
import type { VARWeights } from './weights.js';

/** lvl_embed[lvl_1L] + pos_1LC as (L, C): constant per model, added to every input token. */
export function levelPositions(weights: VARWeights, config: VARConfig): Float32Array {
  const C = config.embedDim;
  const levels = tokenLevels(config.patchNums);
  const out = new Float32Array(config.tokenCount * C);
  for (let l = 0; l < levels.length; l++) {
    for (let c = 0; c < C; c++)
      out[l * C + c] = weights.lvlEmbed.data[levels[l] * C + c] + weights.pos1LC.data[l * C + c];
  }
  return out;
}

/** class_emb rows for the given labels: (N, C). */
export function classCondition(weights: VARWeights, labels: Int32Array): Tensor {
  const C = weights.classEmb.shape[1];
  const out = new Tensor([labels.length, C]);
  labels.forEach((label, n) => out.data.set(weights.classEmb.data.subarray(label * C, (label + 1) * C), n * C));
  return out;
}

/** The first scale's tokens: cond + pos_start + lvlPos[0, firstL) → (N, firstL, C). */
export function firstScaleInput(weights: VARWeights, config: VARConfig, lvlPos: Float32Array, cond: Tensor): Tensor {
  const N = cond.shape[0];
  const C = config.embedDim;
  const F = config.firstL;
  const out = new Tensor([N, F, C]);
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < F; t++) {
      for (let c = 0; c < C; c++) {
        out.data[(n * F + t) * C + c] = cond.data[n * C + c] + weights.posStart.data[t * C + c] + lvlPos[t * C + c];
      }
    }
  }
  return out;
}

/**
 * Teacher forcing: [first scale ; word_embed(xBLCv)] + lvlPos → (B, L, C).
 * xBLCv is (B, L − firstL, Cvae), the VQ-VAE's `idxToVarInput`.
 */
export async function teacherForcingInput(
  weights: VARWeights,
  config: VARConfig,
  lvlPos: Float32Array,
  cond: Tensor,
  xBLCv: Tensor,
): Promise<{ x: Tensor; wordEmbed: Tensor }> {
  const B = cond.shape[0];
  const C = config.embedDim;
  const L = config.tokenCount;
  const F = config.firstL;
  const wordEmbed = await linear(xBLCv, weights.wordEmbedWeight, weights.wordEmbedBias);
  const first = firstScaleInput(weights, config, lvlPos, cond);
  const x = new Tensor([B, L, C]);
  for (let b = 0; b < B; b++) {
    x.data.set(first.data.subarray(b * F * C, (b + 1) * F * C), b * L * C);
    for (let t = F; t < L; t++) {
      const src = (b * (L - F) + t - F) * C;
      for (let c = 0; c < C; c++) x.data[(b * L + t) * C + c] = wordEmbed.data[src + c] + lvlPos[t * C + c];
    }
  }
  return { x, wordEmbed };
}

/**
 * Next-scale inference: the VQ-VAE's next map (B, Cvae, pn, pn) → word_embed + lvlPos[start, start+pn²),
 * repeated `copies` times along the batch (the CFG rows [cond; uncond] see the same input).
 */
export async function nextScaleInput(
  weights: VARWeights,
  config: VARConfig,
  lvlPos: Float32Array,
  nextMap: Tensor,
  start: number,
  copies: number,
): Promise<Tensor> {
  const [B, Cv, ph, pw] = nextMap.shape as [number, number, number, number];
  const T = ph * pw;
  const C = config.embedDim;
  // (B, Cvae, pn, pn) → (B, pn², Cvae), row-major tokens.
  const tokens = new Tensor([B, T, Cv]);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < Cv; c++) {
      for (let t = 0; t < T; t++) tokens.data[(b * T + t) * Cv + c] = nextMap.data[(b * Cv + c) * T + t];
    }
  }
  const embedded = await linear(tokens, weights.wordEmbedWeight, weights.wordEmbedBias);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++)
        embedded.data[(b * T + t) * C + c] = embedded.data[(b * T + t) * C + c] + lvlPos[(start + t) * C + c];
    }
  }
  const out = new Tensor([copies * B, T, C]);
  for (let r = 0; r < copies; r++) out.data.set(embedded.data, r * B * T * C);
  return out;
}
