/**
 * The one way every command opens a VAR model (generate, edit, sample, worker): settings resolved
 * (flags > environment > config file > the model's metadata > defaults), the files chosen (a released
 * model by name, fetched into the Hugging Face cache with progress; --var/--vae paths; or the shipped
 * model), bad input refused before anything slow, the metadata read once, the attention policy and
 * the dense engine chosen, and the model loaded (and, for a name, checked to be the promised model).
 */
import path from 'node:path';
import { NextscaleError, throwIfAborted } from '@nextscale/core';
import { MAX_SEED } from '@nextscale/core/models';
import { checkLoadedModel } from '@nextscale/hub';
import type { Context } from '../context.js';
import { type LoadVAROptions, loadVAR, openWeights, type VARModel } from '../core-api.js';
import {
  formatSettings,
  parseNumber,
  parsePatchNums,
  parsePolicyName,
  resolveSettings,
  settingsToJSON,
  type ResolvedSettings,
  type SettingsLayer,
} from '../config/resolve.js';
import { buildPolicy } from '../backends/policy.js';
import { discover, readLayers, type CommonOptions } from '../commands/common.js';
import { activateEngine, type ActiveEngine } from '../engines/activate.js';
import { withDownloadProgress } from '../output/download.js';
import { writeJson } from '../output/json.js';
import { parseModelMetadata, type ModelMetadata } from './metadata.js';
import { describeError } from '../errors.js';
import { cachedVarFile, chooseModel, fetchModel, type ModelChoice, type ModelPaths } from './paths.js';

export interface ModelRunFlags extends CommonOptions {
  model?: string;
  var?: string;
  vae?: string;
  patchNums?: string;
  numHeads?: string;
  seed?: string;
  cfg?: string;
  topK?: string;
  topP?: string;
  moreSmooth?: boolean;
  backend?: string;
  policy?: string;
  epsilon?: string;
  explain?: boolean;
  printConfig?: boolean;
  engine?: string;
}

/** Flags as a settings layer (numbers validated, paths absolute). */
export function flagLayer(f: ModelRunFlags, cwd: string): SettingsLayer {
  const l: SettingsLayer = {};
  if (f.model) l.model = f.model;
  if (f.var) l.var = path.resolve(cwd, f.var);
  if (f.vae) l.vae = path.resolve(cwd, f.vae);
  if (f.patchNums) l.patchNums = parsePatchNums(f.patchNums);
  if (f.numHeads) l.numHeads = parseNumber(f.numHeads, '--num-heads', { int: true, positive: true });
  if (f.seed !== undefined) l.seed = parseNumber(f.seed, '--seed', { int: true, min: 0, max: MAX_SEED });
  if (f.cfg !== undefined) l.cfg = parseNumber(f.cfg, '--cfg', { min: 0 });
  if (f.topK !== undefined) l.topK = parseNumber(f.topK, '--top-k', { int: true, min: 0 });
  if (f.topP !== undefined) l.topP = parseNumber(f.topP, '--top-p', { min: 0, max: 1 });
  if (f.moreSmooth !== undefined) l.moreSmooth = f.moreSmooth;
  if (f.backend) l.backend = f.backend;
  if (f.policy) l.policy = parsePolicyName(f.policy, '--policy');
  if (f.epsilon !== undefined) l.epsilon = parseNumber(f.epsilon, '--epsilon', { positive: true });
  return l;
}

export interface OpenedModel {
  model: VARModel;
  settings: ResolvedSettings;
  meta: ModelMetadata;
  policy: Awaited<ReturnType<typeof buildPolicy>>['policy'];
  available: Awaited<ReturnType<typeof buildPolicy>>['available'];
  /** The dense engine the model computes on. */
  engine: ActiveEngine;
  files: ModelPaths;
  /** Reading the files into the model (after any download). */
  loadMs: number;
  /** Fetching the files by name (0 for paths; the hub is asked even when the cache has them). */
  fetchMs: number;
}

export interface OpenOptions {
  /**
   * 'model': the sampling settings default to the model's metadata (generate, edit); 'reference':
   * to the reference's FID settings whatever the model says (sample, worker), so that a set's
   * settings do not depend on metadata.
   */
  samplingDefaults?: 'model' | 'reference';
  /**
   * The request core's memory check counts before loading (default: one image): the images of one generation (a
   * function of the model's configuration, e.g. of its number of classes), what writing them out holds, the largest
   * single buffer allowed; `refusal` words core's MemoryError in the command's flags.
   */
  memory?: Pick<LoadVAROptions, 'images' | 'output' | 'maxBuffer'> & { refusal?: (err: unknown) => unknown };
}

async function readMetadata(file: string): Promise<ModelMetadata> {
  const reader = await openWeights(file);
  try {
    return parseModelMetadata(reader.metadata);
  } finally {
    await reader.close();
  }
}

/**
 * Resolves the settings and loads the model with the chosen policy. With --print-config it prints
 * them instead and returns undefined. `validateFirst` runs after the settings are known and before
 * the (slow) download and load, so that bad command-specific input fails fast.
 */
export async function openModel(
  ctx: Context,
  flags: ModelRunFlags,
  command: string,
  validateFirst?: () => Promise<void>,
  o: OpenOptions = {},
): Promise<OpenedModel | undefined> {
  const fromModel = (o.samplingDefaults ?? 'model') === 'model';
  const layers = await readLayers(ctx, flags.config);
  const layerSet = {
    flags: flagLayer(flags, ctx.cwd),
    env: layers.env,
    file: layers.file,
    configFile: layers.loaded?.path,
  };
  let settings: ResolvedSettings = resolveSettings(layerSet, {}, 'norm');
  /** The settings again with the model's metadata, keeping the files chosen. */
  const withMetadata = (meta: ModelMetadata) => {
    const s = resolveSettings(layerSet, fromModel ? meta.sampling : {}, 'norm');
    Object.assign(s, { model: settings.model, var: settings.var, vae: settings.vae });
    if (fromModel && !s.patchNums.value && meta.patchNums) s.patchNums = { value: meta.patchNums, source: 'model' };
    if (fromModel && !s.numHeads.value && meta.numHeads) s.numHeads = { value: meta.numHeads, source: 'model' };
    return s;
  };
  if (flags.printConfig) {
    await printConfig(ctx, command, settings, withMetadata);
    return undefined;
  }

  const choice = chooseModel(settings, ctx.env);
  await validateFirst?.();
  const discovery = await discover(ctx, layers);
  const { policy, available } = await buildPolicy(settings, discovery.registry);
  const engine = await activateEngine(ctx, layers, flags.engine);
  throwIfAborted(ctx.signal);

  const tFetch = performance.now();
  const files = await withDownloadProgress(ctx, (onEvent) =>
    fetchModel(choice, settings, { env: ctx.env, signal: ctx.signal, onEvent }),
  );
  const fetchMs = choice.kind === 'named' ? performance.now() - tFetch : 0;
  throwIfAborted(ctx.signal);

  const tLoad = performance.now();
  const meta = await readMetadata(files.var);
  settings = withMetadata(meta);
  ctx.log(`loading ${files.var} and ${files.vae}`);
  const model: VARModel = await loadVAR({
    var: files.var,
    vae: files.vae,
    // Only what the user set: core reads the metadata itself (and judges it as the file's claim).
    patchNums: settings.patchNums.source === 'model' ? undefined : settings.patchNums.value,
    numHeads: settings.numHeads.source === 'model' ? undefined : settings.numHeads.value,
    registry: discovery.registry,
    policy,
    backendOptions: settings.backendOptions.value,
    signal: ctx.signal,
    engine: engine.engine,
    // only edit encodes images: the other commands leave the VQ-VAE encoder's weights unread (168 MiB for d16's VAE)
    encoder: command === 'edit',
    // Core's check before loading: the model with the command's request (one image unless it says), refused with
    // exit 5 and the numbers.
    images: o.memory?.images ?? 1,
    output: o.memory?.output,
    maxBuffer: o.memory?.maxBuffer,
  }).catch((err: unknown) => {
    throw withFlagNames(o.memory?.refusal?.(err) ?? err);
  });
  if (files.named) {
    try {
      checkLoadedModel(files.named.entry, model.config);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }
  const loadMs = performance.now() - tLoad;
  const config = model.config;
  if (
    settings.patchNums.source !== 'flag' &&
    settings.patchNums.source !== 'env' &&
    settings.patchNums.source !== 'config'
  ) {
    settings.patchNums = { value: config.patchNums, source: 'model', from: config.patchNumsSource };
  }
  return { model, settings, meta, policy, available, engine, files, loadMs, fetchMs };
}

/** --print-config: the settings with where each came from, and the cached model's metadata if it is there (nothing is downloaded). */
async function printConfig(
  ctx: Context,
  command: string,
  settings: ResolvedSettings,
  withMetadata: (meta: ModelMetadata) => ResolvedSettings,
): Promise<void> {
  let choice: ModelChoice | undefined;
  try {
    choice = chooseModel(settings, ctx.env);
  } catch (err) {
    // The settings are shown even when the model they name is unusable; the warning says why.
    ctx.warn(describeError(err).line);
  }
  let meta: ModelMetadata = { sampling: {} };
  const file = choice && cachedVarFile(choice, ctx.env);
  if (choice && file) {
    if (choice.kind === 'named')
      settings.var = { value: file, source: choice.source, from: `model ${choice.entry.name} (cached)` };
    meta = await readMetadata(file).catch((err: unknown) => {
      ctx.warn((err as Error).message);
      return meta;
    });
  } else if (choice?.kind === 'named') {
    ctx.warn(
      `${choice.entry.name} is not downloaded yet, so its metadata is not shown ('nextscale models pull ${choice.entry.name}')`,
    );
  }
  const shown = withMetadata(meta);
  if (ctx.json) writeJson(ctx.stdout, { command, config: settingsToJSON(shown) });
  else ctx.stdout.write(formatSettings(shown));
}

/** The --json account of where the files came from: for a name, each file's download (bytes transferred, resumed, cached). */
export function filesToJSON(files: ModelPaths): Record<string, unknown> {
  if (!files.named) return { var: files.var, vae: files.vae, shipped: files.shipped };
  const { entry } = files.named;
  const one = (role: 'var' | 'vae') => {
    const d = files.named![role];
    return {
      file: entry.files[role],
      path: d.path,
      bytes: d.bytes,
      transferred: d.transferred,
      resumedFrom: d.resumedFrom,
      cached: d.cached,
      commit: d.commit,
    };
  };
  return {
    name: entry.name,
    repo: entry.repo,
    revision: entry.revision,
    catalogue: entry.source,
    var: one('var'),
    vae: one('vae'),
  };
}

/** Core speaks of options (patchNums, numHeads); the user of these commands passes flags. */
function withFlagNames(err: unknown): unknown {
  if (!(err instanceof NextscaleError) || err.code !== 'E_USAGE') return err;
  const message = err.message
    .replace(/pass the patchNums option/g, 'pass --patch-nums')
    .replace(/pass the numHeads option/g, 'pass --num-heads')
    .replace(/\bpatchNums\b/g, '--patch-nums')
    .replace(/\bnumHeads\b/g, '--num-heads');
  return new NextscaleError(err.code, message, { cause: err });
}
