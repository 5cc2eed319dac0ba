/**
 * Sampling on this machine: the missing images of a set, in plan order, `batch` at a time. Each
 * batch's PNGs are stored (atomically) as soon as it is done, so a killed run loses at most one batch.
 */
import { throwIfAborted } from '@nextscale/core';
import type { VARModel } from '../core-api.js';
import { chunk } from './plan.js';
import { renderImages, type RenderSettings } from './model.js';
import type { SetProgress } from './progress.js';
import type { SampleSet } from './set.js';

export async function sampleLocally(
  set: SampleSet,
  model: VARModel,
  render: RenderSettings,
  batch: number,
  progress: SetProgress,
  signal: AbortSignal,
): Promise<number> {
  let made = 0;
  for (const images of chunk(set.missing(), batch)) {
    throwIfAborted(signal);
    const pngs = await renderImages(model, render, images, signal);
    made += await set.store(pngs, signal);
    progress.update(set.done);
  }
  return made;
}
