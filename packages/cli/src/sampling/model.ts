/**
 * The model a sample set is made with: opened by the one path every command uses (model/open.ts),
 * except that the sampling settings default to the reference's FID settings (cfg 1.5, top-k 900,
 * top-p 0.96, no smoothing), not to a model's own metadata. Also hashes the model
 * files (they identify the set) and renders a run of planned images to PNG bytes. Shared by the local
 * sampler and the queue worker, so both make the same pixels.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { throwIfAborted } from '@nextscale/core';
import { countNonFinite, describeNonFinite } from '@nextscale/core/weights';
import type { Context } from '../context.js';
import type { VARModel } from '../core-api.js';
import type { ResolvedSettings } from '../config/resolve.js';
import { openModel, type ModelRunFlags } from '../model/open.js';
import type { ActiveEngine } from '../engines/activate.js';
import { weightsError } from '../errors.js';
import { imageFromBatch } from '../output/image.js';
import { encodePng } from '../output/png.js';
import type { ModelFile, SetSettings } from './manifest.js';
import type { PlannedImage } from './plan.js';

export async function sha256File(file: string): Promise<ModelFile> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return { path: file, sha256: hash.digest('hex'), bytes: (await fsp.stat(file)).size };
}

/** The settings that decide pixels besides the per-image seeds (classes, perClass, seed come from the set). */
export type RenderSettings = Omit<SetSettings, 'perClass' | 'classes' | 'seed'>;

export interface SamplingModel {
  model: VARModel;
  files: { var: ModelFile; vae: ModelFile };
  settings: ResolvedSettings;
  render: RenderSettings;
  engine: ActiveEngine;
  classNames?: string[];
  loadMs: number;
}

export async function openSamplingModel(ctx: Context, flags: ModelRunFlags): Promise<SamplingModel> {
  // No model defaults: the reference's FID settings are the built-in defaults of resolveSettings.
  const opened = (await openModel(ctx, { ...flags, printConfig: false }, 'sample', undefined, {
    samplingDefaults: 'reference',
  }))!;
  const { model, settings, files } = opened;
  const t0 = performance.now();
  const [varFile, vaeFile] = await Promise.all([sha256File(files.var), sha256File(files.vae)]);
  return {
    model,
    files: { var: varFile, vae: vaeFile },
    settings,
    engine: opened.engine,
    classNames: model.classNames ?? opened.meta.classNames,
    loadMs: opened.loadMs + performance.now() - t0,
    render: {
      cfg: settings.cfg.value,
      topK: settings.topK.value,
      topP: settings.topP.value,
      moreSmooth: settings.moreSmooth.value,
      patchNums: [...model.config.patchNums],
      policy: settings.policy.value,
      backend: settings.backend.value ?? null,
      epsilon: settings.epsilon.value ?? null,
    },
  };
}

/** One batch of planned images (any classes), each from its own seed, as PNG bytes in the given order. */
export async function renderImages(
  model: VARModel,
  s: RenderSettings,
  images: readonly PlannedImage[],
  signal?: AbortSignal,
): Promise<{ file: string; png: Uint8Array }[]> {
  const result = await model.generate({
    labels: images.map((i) => i.cls),
    seeds: images.map((i) => i.seed),
    cfg: s.cfg,
    topK: s.topK,
    topP: s.topP,
    moreSmooth: s.moreSmooth,
    signal,
  });
  throwIfAborted(signal);
  // Never store garbage: NaN or Inf pixels mean the numbers overflowed or the weights are broken.
  const bad = countNonFinite(result.images.data);
  if (bad) {
    throw weightsError(
      `the model produced ${bad.nan + bad.posInf + bad.negInf} non-finite pixel values (${describeNonFinite(bad)}); nothing was stored for this batch`,
      'the weights overflow in float32 or are damaged: check them with nextscale inspect',
    );
  }
  return images.map((im, b) => ({ file: im.file, png: encodePng(imageFromBatch(result.images, b)) }));
}
