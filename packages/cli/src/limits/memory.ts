/**
 * What a `generate` request will need in memory, estimated from the model's configuration before any
 * work starts, so that `--batch 100000` or `-b 200 --zoom 32` is refused in a second with the figure
 * and the largest batch that fits, instead of growing until the kernel kills the process (or Node
 * aborts with a native stack when one buffer passes its hard limit).
 *
 * The figures are upper estimates of the live buffers at the peak of each stage (checked against
 * measured peaks of the shipped model: ~1.9 MB per image measured, 2.4 MB estimated at zoom 1;
 * 8.8 MB measured, 9.6 MB estimated at zoom 32). The stages run one after another, so the peak is
 * the largest stage plus what stays alive throughout (the sampled tokens, the images).
 */
import { constants as bufferConstants } from 'node:buffer';
import { totalmem } from 'node:os';
import { estimateGeneration } from '@nextscale/core';

export interface GenerateShape {
  depth: number;
  embedDim: number;
  numHeads: number;
  vocabSize: number;
  mlpHidden: number;
  patchNums: readonly number[];
  /** VQ-VAE: base channels, channel multipliers per level, image side. */
  vaeCh: number;
  vaeChMult: readonly number[];
  imageSize: number;
}

/** The figures the estimate needs, from a loaded model (VAR config and its VQ-VAE's). */
export function generateShapeOf(model: {
  config: Pick<GenerateShape, 'depth' | 'embedDim' | 'numHeads' | 'vocabSize' | 'mlpHidden' | 'patchNums'>;
  vae: { imageSize: number; model: { config: { ch: number; chMult: readonly number[] } } };
}): GenerateShape {
  const c = model.config;
  const v = model.vae.model.config;
  return {
    depth: c.depth,
    embedDim: c.embedDim,
    numHeads: c.numHeads,
    vocabSize: c.vocabSize,
    mlpHidden: c.mlpHidden,
    patchNums: c.patchNums,
    vaeCh: v.ch,
    vaeChMult: v.chMult,
    imageSize: model.vae.imageSize,
  };
}

export interface GenerateRequest {
  images: number;
  zoom: number;
  /** Classifier-free guidance doubles the transformer's batch. */
  cfg: boolean;
}

export interface MemoryEstimate {
  /** Bytes the request adds at its peak. */
  bytes: number;
  /** The largest single buffer, which must stay under Node's per-buffer limit. */
  largestBuffer: number;
  stages: { transformer: number; decode: number; output: number };
}

export function estimateGenerateMemory(m: GenerateShape, r: GenerateRequest): MemoryEstimate {
  // The transformer's and the decoder's buffers are core's estimate (the same one the check before loading uses).
  const g = estimateGeneration(m, { images: r.images, cfg: r.cfg });
  const transformer = g.kvCache + g.transformer;
  // Output: each zoomed RGB tile, the grid they are copied into, and PNG encoding (filtered rows and
  // the deflated stream), each about the grid's size.
  const grid = r.images * 3 * (m.imageSize * r.zoom) ** 2;
  const output = g.images + 4 * grid;
  const bytes = Math.max(transformer, g.decode, output) + g.images;
  const largestBuffer = Math.max(grid, g.largestBuffer);
  return { bytes, largestBuffer, stages: { transformer, decode: g.decode, output } };
}

/** Memory this process may use: the machine's, or the container's limit when it is lower. */
export function memoryBudget(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const total = totalmem();
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

/** Node's largest single Buffer / typed array, in bytes. */
export const MAX_BUFFER_BYTES = bufferConstants.MAX_LENGTH;

export function formatGB(bytes: number): string {
  if (bytes >= 1e12) return `${(bytes / 1e12).toPrecision(3)} TB`;
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return `${Math.max(0.01, bytes / 1e9).toFixed(2)} GB`;
}

export interface Fit {
  ok: boolean;
  estimate: MemoryEstimate;
  /** Bytes available for the request: 90 % of the budget less what the process holds already. */
  available: number;
  /** Why it does not fit, in words, when it does not. */
  reason?: string;
}

export function checkFits(
  m: GenerateShape,
  r: GenerateRequest,
  inUse = process.memoryUsage().rss,
  budget = memoryBudget(),
): Fit {
  const estimate = estimateGenerateMemory(m, r);
  const available = Math.max(0, 0.9 * budget - inUse);
  if (estimate.largestBuffer > MAX_BUFFER_BYTES) {
    return {
      ok: false,
      estimate,
      available,
      reason: `one of its buffers would need ${formatGB(estimate.largestBuffer)}, over Node's ${formatGB(MAX_BUFFER_BYTES)} limit for a single buffer`,
    };
  }
  if (estimate.bytes > available) {
    return {
      ok: false,
      estimate,
      available,
      reason: `it needs about ${formatGB(estimate.bytes)} of memory, and this machine has ${formatGB(available)} to spare (${formatGB(budget)} in all)`,
    };
  }
  return { ok: true, estimate, available };
}

/** The most images (at this zoom) that fit, by bisection on the estimate. */
export function maxImagesThatFit(
  m: GenerateShape,
  r: Omit<GenerateRequest, 'images'>,
  inUse?: number,
  budget?: number,
): number {
  let lo = 0;
  let hi = 1;
  while (hi < 2 ** 40 && checkFits(m, { ...r, images: hi }, inUse, budget).ok) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (checkFits(m, { ...r, images: mid }, inUse, budget).ok) lo = mid;
    else hi = mid;
  }
  return lo;
}
