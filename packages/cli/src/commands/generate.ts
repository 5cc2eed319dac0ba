/**
 * `nextscale generate`: class-conditional samples from a VAR model to a PNG (one image, or one grid
 * for several), with the attention decision trace.
 */
import path from 'node:path';
import { Command } from 'commander';
import { NextscaleError, throwIfAborted } from '@nextscale/core';
import type { Context } from '../context.js';
import { loadVAR, openWeights, type GenerateProgress, type GenerateResult, type VARModel } from '../core-api.js';
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
import { usageError } from '../errors.js';
import { parseClasses } from '../model/classes.js';
import { parseModelMetadata, type ModelMetadata } from '../model/metadata.js';
import { resolveModelPaths } from '../model/paths.js';
import { composeGrid, type GridTile } from '../output/grid.js';
import { imageFromBatch, zoomImage } from '../output/image.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { writePng } from '../output/png.js';
import { createProgress } from '../output/progress.js';
import { formatTrace, traceToJSON } from '../output/trace.js';
import { addCommonOptions, addEngineOption, collect, discover, readLayers, type CommonOptions, type Wrap } from './common.js';
import { activateEngine, describeSource, engineToJSON } from '../engines/activate.js';

export interface GenerateFlags extends CommonOptions {
  var?: string;
  vae?: string;
  patchNums?: string;
  numHeads?: string;
  class?: string[];
  seed?: string;
  cfg?: string;
  topK?: string;
  topP?: string;
  moreSmooth?: boolean;
  batch?: string;
  out?: string;
  zoom?: string;
  backend?: string;
  policy?: string;
  epsilon?: string;
  explain?: boolean;
  printConfig?: boolean;
  engine?: string;
}

export function generateCommand(wrap: Wrap): Command {
  const cmd = new Command('generate')
    .description('generate class-conditional images with a VAR model')
    .option('--var <file>', 'VAR transformer weights (.pth or .safetensors); default: the shipped model')
    .option('--vae <file>', 'VQ-VAE weights (.pth or .safetensors); default: the shipped model')
    .option('--patch-nums <list>', 'patch sizes per scale, e.g. 1,2,3,4,5,6,8,10,13,16 (default: from the weights)')
    .option('--num-heads <n>', 'attention heads (needed only when attention is not l2-normalised)')
    .option('-c, --class <class>', 'class number or name; repeatable or a comma list (default: every class of a small model)', collect)
    .option('-b, --batch <n>', 'samples per class', '1')
    .option('--seed <n>', 'random seed (default 0)')
    .option('--cfg <x>', 'classifier-free guidance scale (default: the model\'s, else 1.5)')
    .option('--top-k <n>', 'top-k sampling, 0 = off (default: the model\'s, else 900)')
    .option('--top-p <x>', 'top-p sampling, 0 = off (default: the model\'s, else 0.96)')
    .option('--more-smooth', 'Gumbel-softmax smoothing of the token maps (VAR\'s more_smooth)')
    .option('--no-more-smooth', 'turn more_smooth off even if the config or model turns it on')
    .option('-o, --out <file.png>', 'output PNG; several images make one grid', 'nextscale.png')
    .option('--zoom <n>', 'enlarge each image n× in the PNG, each pixel an n×n block (1-32)', '1')
    .option('--backend <id>', 'use exactly this attention backend (explicit policy)')
    .option('--policy <name>', 'attention policy: norm | priority | explicit')
    .option('--epsilon <x>', 'target attention error for approximate backends (norm policy)')
    .option('--explain', 'print the attention decision trace as a table on stderr')
    .option('--print-config', 'print the resolved settings with where each came from, and exit');
  addEngineOption(cmd);
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: GenerateFlags) => runGenerate(ctx, flags)));
}

/** Flags as a settings layer (numbers validated, paths absolute). */
export function flagLayer(f: GenerateFlags, cwd: string): SettingsLayer {
  const l: SettingsLayer = {};
  if (f.var) l.var = path.resolve(cwd, f.var);
  if (f.vae) l.vae = path.resolve(cwd, f.vae);
  if (f.patchNums) l.patchNums = parsePatchNums(f.patchNums);
  if (f.numHeads) l.numHeads = parseNumber(f.numHeads, '--num-heads', { int: true, positive: true });
  if (f.seed !== undefined) l.seed = parseNumber(f.seed, '--seed', { int: true, min: 0 });
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

const now = () => performance.now();
const ms = (t: number) => Math.round(t * 10) / 10;

export async function runGenerate(ctx: Context, flags: GenerateFlags): Promise<number> {
  const tStart = now();
  const flagsLayer = flagLayer(flags, ctx.cwd);
  const batch = parseNumber(flags.batch ?? '1', '--batch', { int: true, positive: true });
  const zoom = parseNumber(flags.zoom ?? '1', '--zoom', { int: true, min: 1, max: 32 });
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
    if (ctx.json) writeJson(ctx.stdout, { command: 'generate', config: settingsToJSON(withModel) });
    else ctx.stdout.write(formatSettings(withModel));
    return 0;
  }

  const paths = resolveModelPaths(settings);
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
    engine: engine.engine,
  }).catch((err: unknown) => {
    throw withFlagNames(err);
  });
  const loadMs = now() - tLoad;
  try {
    throwIfAborted(ctx.signal);
    const config = model.config;
    if (settings.patchNums.source !== 'flag' && settings.patchNums.source !== 'env' && settings.patchNums.source !== 'config') {
      settings.patchNums = { value: config.patchNums, source: 'model', from: config.patchNumsSource };
    }
    const classNames = model.classNames ?? meta.classNames;
    const numClasses = config.numClasses;
    let classValues = flags.class;
    if (!classValues?.length) {
      if (numClasses <= 10) classValues = [Array.from({ length: numClasses }, (_, i) => String(i)).join(',')];
      else throw usageError('no --class given', `pass --class <number${classNames ? ' or name' : ''}> (repeatable)`);
    }
    const classes = parseClasses(classValues, numClasses, classNames);
    const labels = classes.flatMap((c) => Array<number>(batch).fill(c));

    const progress = createProgress(ctx);
    const patchNums = config.patchNums;
    const scaleTimes: { scale: number; patchNum: number; ms: number }[] = [];
    let tPrev = now();
    let decodeStart: number | undefined;
    const onProgress = (e: GenerateProgress) => {
      const t = now();
      if (e.stage === 'decode') {
        decodeStart = t;
        progress.decode('start');
        return;
      }
      // 'transformer': e.scale scales are done.
      const pn = patchNums[e.scale - 1]!;
      scaleTimes.push({ scale: e.scale - 1, patchNum: pn, ms: ms(t - tPrev) });
      tPrev = t;
      progress.scale(e.scale, e.scales, `(${pn}×${pn})`);
    };
    const tGen = now();
    let result: GenerateResult;
    try {
      result = await model.generate({
        labels,
        cfg: settings.cfg.value,
        topK: settings.topK.value,
        topP: settings.topP.value,
        seed: settings.seed.value,
        moreSmooth: settings.moreSmooth.value,
        onProgress,
        signal: ctx.signal,
      });
      progress.decode('done');
    } finally {
      progress.stop();
    }
    const tEnd = now();
    const generateMs = tEnd - tGen;
    const decodeMs = decodeStart === undefined ? undefined : tEnd - decodeStart;
    throwIfAborted(ctx.signal);

    // Images → one PNG (pixel-exact) or a labelled grid of pixel-exact tiles.
    const tWrite = now();
    const n = result.images.shape[0]!;
    const rgb = Array.from({ length: n }, (_, i) => zoomImage(imageFromBatch(result.images, i), zoom));
    const out = path.resolve(ctx.cwd, flags.out ?? 'nextscale.png');
    let tiles: GridTile[];
    let written: { path: string; bytes: number };
    let size: { width: number; height: number };
    if (n === 1) {
      written = await writePng(out, rgb[0]!, ctx.signal);
      tiles = [{ row: 0, col: 0, x: 0, y: 0, width: rgb[0]!.width, height: rgb[0]!.height }];
      size = rgb[0]!;
    } else {
      const rowLabels = classes.map((c) => classNames?.[c] ?? `class ${c}`);
      const grid = composeGrid(rgb, { columns: batch, rowLabels });
      written = await writePng(out, grid.image, ctx.signal);
      tiles = grid.tiles;
      size = grid.image;
    }
    const writeMs = now() - tWrite;
    const trace = result.trace;

    if (ctx.json) {
      writeJson(ctx.stdout, {
        command: 'generate',
        files: [{ path: written.path, kind: n === 1 ? 'image' : 'grid', width: size.width, height: size.height, bytes: written.bytes }],
        images: labels.map((label, i) => ({ index: i, label, className: classNames?.[label] ?? null, sample: i % batch, tile: tiles[i] })),
        tokens: result.tokens.map((t, s) => ({ scale: s, patchNum: patchNums[s] ?? null, tokens: Array.from(t) })),
        timings: {
          loadMs: ms(loadMs),
          scales: scaleTimes,
          transformerMs: ms((decodeStart ?? tEnd) - tGen),
          generateMs: ms(generateMs),
          decodeMs: decodeMs === undefined ? null : ms(decodeMs),
          writeMs: ms(writeMs),
          totalMs: ms(now() - tStart),
        },
        trace: traceToJSON(trace, policy.name),
        engine: engineToJSON(engine),
        backends: available.map((a) => ({ id: a.backend.id, package: a.backend.package, version: a.backend.version, available: a.probe.available, reason: a.probe.reason })),
        config: { ...settingsToJSON(settings), classes, batch, zoom, out: written.path, model: config },
      });
    } else {
      const what = n === 1 ? '1 image' : `${n} images (${classes.length} × ${batch} grid)`;
      ctx.out(`wrote ${displayPath(written.path, ctx.cwd)}: ${what}, ${size.width}×${size.height}`);
    }
    if (flags.explain) {
      ctx.stderr.write(formatTrace(trace, policy.name));
      ctx.stderr.write(`dense engine: ${engine.id} (${engine.name}, ${engine.package}@${engine.version}; chosen by ${describeSource(engine.source)})\n`);
    }
    return 0;
  } finally {
    await model.dispose();
  }
}

/** Core speaks of options (patchNums, numHeads); the user of this command passes flags. */
function withFlagNames(err: unknown): unknown {
  if (!(err instanceof NextscaleError) || err.code !== 'E_USAGE') return err;
  const message = err.message
    .replace(/pass the patchNums option/g, 'pass --patch-nums')
    .replace(/pass the numHeads option/g, 'pass --num-heads')
    .replace(/\bpatchNums\b/g, '--patch-nums')
    .replace(/\bnumHeads\b/g, '--num-heads');
  return new NextscaleError(err.code, message, { cause: err });
}

