/**
 * What a weights file holds, from its tensor names and shapes alone: a VAR transformer or a VQ-VAE,
 * and the configuration that can be read off the shapes. Core's own inference is used when it is
 * there; this summary covers what `inspect` shows either way.
 */
import type { TensorInfo } from '../core-api.js';

export type ModelKind = 'var' | 'vqvae' | 'unknown';

export function detectKind(names: readonly string[]): ModelKind {
  const set = new Set(names);
  if (set.has('class_emb.weight') || names.some((n) => /^blocks\.\d+\.attn\./.test(n))) return 'var';
  if (set.has('quantize.embedding.weight') || names.some((n) => n.startsWith('decoder.conv_in.'))) return 'vqvae';
  return 'unknown';
}

export interface VARShapeSummary {
  depth: number;
  embedDim?: number;
  numClasses?: number;
  vocabSize?: number;
  Cvae?: number;
  /** Heads, when attention is l2-normalised (read from scale_mul_1H11). */
  numHeads?: number;
  headDim?: number;
  attnL2Norm: boolean;
  sharedAdaLN: boolean;
  /** Tokens per sequence from pos_1LC. */
  L?: number;
}

export function summarizeVAR(tensors: readonly TensorInfo[]): VARShapeSummary {
  const by = new Map(tensors.map((t) => [t.name, t.shape]));
  const blocks = new Set<number>();
  for (const t of tensors) {
    const m = /^blocks\.(\d+)\./.exec(t.name);
    if (m) blocks.add(Number(m[1]));
  }
  const embedDim = by.get('class_emb.weight')?.[1] ?? by.get('word_embed.weight')?.[0];
  const sm = by.get('blocks.0.attn.scale_mul_1H11');
  const numHeads = sm ? sm[1] : undefined;
  return {
    depth: blocks.size,
    embedDim,
    numClasses: by.has('class_emb.weight') ? by.get('class_emb.weight')![0] - 1 : undefined,
    vocabSize: by.get('head.weight')?.[0],
    Cvae: by.get('word_embed.weight')?.[1],
    numHeads,
    headDim: numHeads && embedDim ? embedDim / numHeads : undefined,
    attnL2Norm: Boolean(sm),
    sharedAdaLN: by.has('shared_ada_lin.1.weight') || by.has('shared_ada_lin.weight'),
    L: by.get('pos_1LC')?.[1],
  };
}

export { patchNumsFromLevels, RELEASED_256_PATCH_NUMS as RELEASED_256 } from '@nextscale/core/models';
