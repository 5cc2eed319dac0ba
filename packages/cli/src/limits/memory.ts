/**
 * The CLI's part of core's memory check (`checkMemoryFit`, core pipeline/memory-fit.ts: one estimate against one
 * budget, refused with exit 5): what writing the images out costs (the zoomed grid and its PNG), Node's limit on a
 * single buffer, the check of a request against a model already loaded (sample's batch, a worker's job), and core's
 * refusal worded with the command's flags.
 */
import { constants as bufferConstants } from 'node:buffer';
import { type AvailableMemory, type FitCheck, MemoryError, maxImagesThatFit, type ModelShape } from '@nextscale/core';

/** Node's largest single Buffer / typed array, in bytes. */
export const MAX_BUFFER_BYTES = bufferConstants.MAX_LENGTH;

/**
 * After the decode: each zoomed RGB tile, the grid they are copied into, and the PNG encoding (filtered rows and the
 * deflated stream), each about the grid's size; the grid is the largest single buffer.
 */
export function pngOutput(
  zoom: number,
): (imageSize: number, images: number) => { bytes: number; largestBuffer: number } {
  return (imageSize, images) => {
    const grid = images * 3 * (imageSize * zoom) ** 2;
    return { bytes: 4 * grid, largestBuffer: grid };
  };
}

/** The figures the estimate needs, from a loaded model (VAR config and its VQ-VAE's). */
export function modelShapeOf(model: {
  config: Omit<ModelShape, 'vaeCh' | 'vaeChMult'>;
  vae: { model: { config: { ch: number; chMult: readonly number[] } } };
}): ModelShape {
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
  };
}

/** Core's check for `images` more images (with CFG when `cfg`) on a model whose weights this process holds already. */
export function loadedFitCheck(shape: ModelShape, images: number, cfg: boolean, available?: AvailableMemory): FitCheck {
  return {
    model: shape,
    weights: { bytes: 0, largestBlockBytes: 0 },
    request: { images, cfg, output: pngOutput(1) },
    maxBuffer: MAX_BUFFER_BYTES,
    available,
  };
}

/** The most images at once a loaded model can make here (0: not even one). */
export function maxLoadedImages(shape: ModelShape, cfg: boolean, available?: AvailableMemory): number {
  return maxImagesThatFit(loadedFitCheck(shape, 1, cfg, available));
}

/**
 * Core's MemoryError with its "generate at most N images at once" as the command's fix (`fix(N)`, N ≥ 1; with N = 0,
 * `fix(0)` when given comes first), and `what` (e.g. "(10 classes × --batch 200)") after its count of images.
 */
export function inFlagTerms(err: unknown, fix: (most: number) => string | undefined, what = ''): unknown {
  if (!(err instanceof MemoryError)) return err;
  let message = err.message.replace(/ images? at once/, (m) => `${m}${what ? ` ${what}` : ''}`);
  const own = fix(err.maxImages);
  if (own)
    message =
      err.maxImages >= 1
        ? message.replace(/generate at most [\d,]+ images? at once/, own)
        : message.replace(' — ', ` — ${own}, or `);
  return new MemoryError(message, err.need, err.available, err.maxImages);
}
