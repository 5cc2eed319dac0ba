/**
 * What the commands that run a VAR model (`generate`, `edit`) share: the model, sampling and policy
 * options, settings resolution and model loading, per-scale progress with timings, writing one image
 * or a labelled grid, and the parts of the --json document and --explain output that do not depend on
 * the command.
 */
import path from 'node:path';
import { Command } from 'commander';
import { NextscaleError, throwIfAborted, type Tensor } from '@nextscale/core';
import { countNonFinite, describeNonFinite } from '@nextscale/core/weights';
import { MAX_SEED } from '@nextscale/core/models';
import type { Context } from '../context.js';
import { loadVAR, openWeights, type VARModel } from '../core-api.js';
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
import { parseModelMetadata, type ModelMetadata } from '../model/metadata.js';
import { resolveModelPaths } from '../model/paths.js';
import { composeGrid, type GridTile } from '../output/grid.js';
import type { RgbImage } from '../output/image.js';
import { writeJson } from '../output/json.js';
import { writePng } from '../output/png.js';
import { createProgress } from '../output/progress.js';
import { formatTrace, traceToJSON } from '../output/trace.js';
import { activateEngine, describeSource, engineToJSON, type ActiveEngine } from '../engines/activate.js';
import { weightsError } from '../errors.js';
import { discover, readLayers, type CommonOptions } from './common.js';

export interface ModelRunFlags extends CommonOptions {
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

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--var <file>', 'VAR transformer weights (.pth or .safetensors); default: the shipped model')
    .option('--vae <file>', 'VQ-VAE weights (.pth or .safetensors); default: the shipped model')
    .option('--patch-nums <list>', 'patch sizes per scale, e.g. 1,2,3,4,5,6,8,10,13,16 (default: from the weights)')
    .option('--num-heads <n>', 'attention heads (needed only when attention is not l2-normalised)')
    .option('--engine <id>', 'dense engine to compute on: js, wasm, onnx, … (default: NEXTSCALE_ENGINE, config "engine", else the best installed)');
}

export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'random seed (default 0)')
    .option('--cfg <x>', 'classifier-free guidance scale (default: the model\'s, else 1.5)')
    .option('--top-k <n>', 'top-k sampling, 0 = off (default: the model\'s, else 900)')
    .option('--top-p <x>', 'top-p sampling, 0 = off (default: the model\'s, else 0.96)')
    .option('--more-smooth', 'Gumbel-softmax smoothing of the token maps (VAR\'s more_smooth)')
    .option('--no-more-smooth', 'turn more_smooth off even if the config or model turns it on');
}

export function addPolicyOptions(cmd: Command): Command {
  return cmd
    .option('--backend <id>', 'use exactly this attention backend (explicit policy)')
    .option('--policy <name>', 'attention policy: norm | priority | explicit')
    .option('--epsilon <x>', 'target attention error for approximate backends (norm policy)')
    .option('--explain', 'print the attention decision trace as a table on stderr')
    .option('--print-config', 'print the resolved settings with where each came from, and exit');
}

/** Flags as a settings layer (numbers validated, paths absolute). */
export function flagLayer(f: ModelRunFlags, cwd: string): SettingsLayer {
  const l: SettingsLayer = {};
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

async function readMetadata(file: string): Promise<ModelMetadata> {
  const reader = await openWeights(file);
  try {
    return parseModelMetadata(reader.metadata);
  } finally {
    await reader.close();
  }
}

export const now = () => performance.now();
export const ms = (t: number) => Math.round(t * 10) / 10;

export interface OpenedModel {
  model: VARModel;
  settings: ResolvedSettings;
  meta: ModelMetadata;
  policy: Awaited<ReturnType<typeof buildPolicy>>['policy'];
  available: Awaited<ReturnType<typeof buildPolicy>>['available'];
  /** The dense engine the model computes on. */
  engine: ActiveEngine;
  loadMs: number;
}

/**
 * Resolves the settings (flags, environment, config file, then the model's metadata) and loads the
 * model with the chosen policy. With --print-config it prints them instead and returns undefined.
 * `validateFirst` runs after the settings are known and before the (slow) load, so that bad
 * command-specific input fails fast.
 */
export async function openModel(
  ctx: Context,
  flags: ModelRunFlags,
  command: string,
  validateFirst?: () => Promise<void>,
): Promise<OpenedModel | undefined> {
  const flagsLayer = flagLayer(flags, ctx.cwd);
  const layers = await readLayers(ctx, flags.config);
  const layerSet = { flags: flagsLayer, env: layers.env, file: layers.file, configFile: layers.loaded?.path };
  const defaultPolicy = 'norm';
  let settings: ResolvedSettings = resolveSettings(layerSet, {}, defaultPolicy);

  if (flags.printConfig) {
    let meta: ModelMetadata = { sampling: {} };
    try {
      const paths = resolveModelPaths(settings);
      meta = await readMetadata(paths.var);
    } catch (err) {
      ctx.warn((err as Error).message);
    }
    const withModel = resolveSettings(layerSet, meta.sampling, defaultPolicy);
    withModel.var = settings.var;
    withModel.vae = settings.vae;
    if (!withModel.patchNums.value && meta.patchNums) withModel.patchNums = { value: meta.patchNums, source: 'model' };
    if (ctx.json) writeJson(ctx.stdout, { command, config: settingsToJSON(withModel) });
    else ctx.stdout.write(formatSettings(withModel));
    return undefined;
  }

  const paths = resolveModelPaths(settings);
  await validateFirst?.();
  const discovery = await discover(ctx, layers);
  const { policy, available } = await buildPolicy(settings, discovery.registry);
  const engine = await activateEngine(ctx, layers, flags.engine);
  throwIfAborted(ctx.signal);

  const tLoad = now();
  const meta = await readMetadata(paths.var);
  const keepPaths = { var: settings.var, vae: settings.vae };
  settings = resolveSettings(layerSet, meta.sampling, defaultPolicy);
  Object.assign(settings, keepPaths);
  if (!settings.patchNums.value && meta.patchNums) settings.patchNums = { value: meta.patchNums, source: 'model' };
  if (!settings.numHeads.value && meta.numHeads) settings.numHeads = { value: meta.numHeads, source: 'model' };
  ctx.log(`loading ${paths.var} and ${paths.vae}`);
  const model: VARModel = await loadVAR({
    var: paths.var,
    vae: paths.vae,
    // Only what the user set: core reads the metadata itself (and judges it as the file's claim).
    patchNums: settings.patchNums.source === 'model' ? undefined : settings.patchNums.value,
    numHeads: settings.numHeads.source === 'model' ? undefined : settings.numHeads.value,
    registry: discovery.registry,
    policy,
    backendOptions: settings.backendOptions.value,
    signal: ctx.signal,
    engine: engine.engine,
  }).catch((err: unknown) => {
    throw withFlagNames(err);
  });
  const loadMs = now() - tLoad;
  const config = model.config;
  if (settings.patchNums.source !== 'flag' && settings.patchNums.source !== 'env' && settings.patchNums.source !== 'config') {
    settings.patchNums = { value: config.patchNums, source: 'model', from: config.patchNumsSource };
  }
  return { model, settings, meta, policy, available, engine, loadMs };
}

/** The sampling options of generate/edit from the resolved settings. */
export function samplingOptions(settings: ResolvedSettings) {
  return {
    cfg: settings.cfg.value,
    topK: settings.topK.value,
    topP: settings.topP.value,
    seed: settings.seed.value,
    moreSmooth: settings.moreSmooth.value,
  };
}

export interface ScaleTiming {
  scale: number;
  patchNum: number;
  ms: number;
}

/**
 * Progress bars (TTY) or lines (--verbose) over the scales and the decode, with each scale's time.
 * `onProgress` takes generate's and edit's events; stages other than 'transformer' and 'decode' (edit's
 * 'encode') restart the clock of the first scale.
 */
export function scaleProgress(ctx: Context, patchNums: readonly number[]) {
  const progress = createProgress(ctx);
  const scaleTimes: ScaleTiming[] = [];
  let tPrev = now();
  let decodeStart: number | undefined;
  const onProgress = (e: { stage: string; scale: number; scales: number }) => {
    const t = now();
    if (e.stage === 'decode') {
      decodeStart = t;
      progress.decode('start');
      return;
    }
    if (e.stage !== 'transformer') {
      tPrev = t;
      return;
    }
    // 'transformer': e.scale scales are done.
    const pn = patchNums[e.scale - 1]!;
    scaleTimes.push({ scale: e.scale - 1, patchNum: pn, ms: ms(t - tPrev) });
    tPrev = t;
    progress.scale(e.scale, e.scales, `(${pn}×${pn})`);
  };
  return {
    onProgress,
    scaleTimes,
    done: () => progress.decode('done'),
    stop: () => progress.stop(),
    get decodeStart() {
      return decodeStart;
    },
  };
}

/** Never write garbage: NaN or Inf pixels mean the numbers overflowed or the weights are broken. */
export function refuseNonFiniteImages(images: Tensor): void {
  const bad = countNonFinite(images.data);
  if (!bad) return;
  throw weightsError(
    `the model produced ${bad.nan + bad.posInf + bad.negInf} non-finite pixel values (${describeNonFinite(bad)}) of ${images.size}; nothing was written`,
    'the weights overflow in float32 or are damaged: check them with nextscale inspect, or get the files again',
  );
}

export interface WrittenImages {
  written: { path: string; bytes: number };
  tiles: GridTile[];
  size: { width: number; height: number };
  kind: 'image' | 'grid';
}

/** One image as it is, or several as a labelled grid of pixel-exact tiles; atomically. */
export async function writeImages(out: string, rgb: RgbImage[], grid: { columns: number; rowLabels: string[] }, signal: AbortSignal): Promise<WrittenImages> {
  if (rgb.length === 1) {
    const written = await writePng(out, rgb[0]!, signal);
    return { written, tiles: [{ row: 0, col: 0, x: 0, y: 0, width: rgb[0]!.width, height: rgb[0]!.height }], size: rgb[0]!, kind: 'image' };
  }
  const composed = composeGrid(rgb, grid);
  const written = await writePng(out, composed.image, signal);
  return { written, tiles: composed.tiles, size: composed.image, kind: 'grid' };
}

/** The --json fields every model-running command has. */
export function commonJSON(opened: OpenedModel, trace: Parameters<typeof traceToJSON>[0]) {
  return {
    engine: engineToJSON(opened.engine),
    trace: traceToJSON(trace, opened.policy.name),
    backends: opened.available.map((a) => ({
      id: a.descriptor.id,
      package: a.descriptor.package,
      version: a.descriptor.version,
      available: a.probe.available,
      reason: a.probe.reason,
    })),
    settings: settingsToJSON(opened.settings),
  };
}

/** --explain: the attention decision trace as a table on stderr. */
export function explain(ctx: Context, flags: ModelRunFlags, opened: OpenedModel, trace: Parameters<typeof formatTrace>[0]): void {
  if (!flags.explain) return;
  ctx.stderr.write(formatTrace(trace, opened.policy.name));
  const e = opened.engine;
  ctx.stderr.write(`dense engine: ${e.id} (${e.name}, ${e.package}@${e.version}; chosen by ${describeSource(e.source)})\n`);
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
