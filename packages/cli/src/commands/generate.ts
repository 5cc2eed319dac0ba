/**
 * `nextscale generate`: class-conditional samples from a VAR model to a PNG (one image, or one grid
 * for several), with the attention decision trace.
 */
import path from 'node:path';
import { Command } from 'commander';
import { throwIfAborted } from '@nextscale/core';
import type { Context } from '../context.js';
import type { GenerateResult } from '../core-api.js';
import { parseNumber, settingsToJSON } from '../config/resolve.js';
import { usageError } from '../errors.js';
import { inFlagTerms, MAX_BUFFER_BYTES, pngOutput } from '../limits/memory.js';
import { parseClasses } from '../model/classes.js';
import { imageFromBatch, zoomImage } from '../output/image.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { addCommonOptions, collect, type Wrap } from './common.js';
import {
  addModelOptions,
  addPolicyOptions,
  addSamplingOptions,
  commonJSON,
  explain,
  filesToJSON,
  ms,
  now,
  openModel,
  refuseNonFiniteImages,
  samplingOptions,
  scaleProgress,
  writeImages,
  type ModelRunFlags,
} from './model-run.js';

export interface GenerateFlags extends ModelRunFlags {
  class?: string[];
  batch?: string;
  out?: string;
  zoom?: string;
}

export function generateCommand(wrap: Wrap): Command {
  const cmd = new Command('generate').description('generate class-conditional images with a VAR model');
  addModelOptions(cmd)
    .option(
      '-c, --class <class>',
      'class number or name; repeatable or a comma list (default: every class of a small model)',
      collect,
    )
    .option('-b, --batch <n>', 'samples per class', '1');
  addSamplingOptions(cmd)
    .option('-o, --out <file.png>', 'output PNG; several images make one grid', 'nextscale.png')
    .option('--zoom <n>', 'enlarge each image n× in the PNG, each pixel an n×n block (1-32)', '1');
  addPolicyOptions(cmd);
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: GenerateFlags) => runGenerate(ctx, flags)));
}

export async function runGenerate(ctx: Context, flags: GenerateFlags): Promise<number> {
  const tStart = now();
  const batch = parseNumber(flags.batch ?? '1', '--batch', { int: true, positive: true });
  const zoom = parseNumber(flags.zoom ?? '1', '--zoom', { int: true, min: 1, max: 32 });
  const opened = await openModel(ctx, flags, 'generate', undefined, { memory: memoryRequest(flags, batch, zoom) });
  if (!opened) return 0;
  const { model, settings, meta, loadMs } = opened;
  try {
    throwIfAborted(ctx.signal);
    const config = model.config;
    const classNames = model.classNames ?? meta.classNames;
    const numClasses = config.numClasses;
    let classValues = flags.class;
    if (!classValues?.length) {
      if (numClasses <= 10) classValues = [Array.from({ length: numClasses }, (_, i) => String(i)).join(',')];
      else throw usageError('no --class given', `pass --class <number${classNames ? ' or name' : ''}> (repeatable)`);
    }
    const classes = parseClasses(classValues, numClasses, classNames);
    const labels = classes.flatMap((c) => Array<number>(batch).fill(c));

    const patchNums = config.patchNums;
    const progress = scaleProgress(ctx, patchNums);
    const tGen = now();
    let result: GenerateResult;
    try {
      result = await model.generate({
        labels,
        ...samplingOptions(settings),
        onProgress: progress.onProgress,
        signal: ctx.signal,
        // the command's only generation: the engine frees the transformer's weights before the decode (peak memory)
        releaseTransformer: true,
      });
      progress.done();
    } finally {
      progress.stop();
    }
    const tEnd = now();
    const generateMs = tEnd - tGen;
    const decodeStart = progress.decodeStart;
    const decodeMs = decodeStart === undefined ? undefined : tEnd - decodeStart;
    throwIfAborted(ctx.signal);

    refuseNonFiniteImages(result.images);

    // Images → one PNG (pixel-exact) or a labelled grid of pixel-exact tiles.
    const tWrite = now();
    const n = result.images.shape[0];
    const rgb = Array.from({ length: n }, (_, i) => zoomImage(imageFromBatch(result.images, i), zoom));
    const out = path.resolve(ctx.cwd, flags.out ?? 'nextscale.png');
    const rowLabels = classes.map((c) => classNames?.[c] ?? `class ${c}`);
    const { written, tiles, size, kind } = await writeImages(out, rgb, { columns: batch, rowLabels }, ctx.signal);
    const writeMs = now() - tWrite;
    const trace = result.trace;

    if (ctx.json) {
      const { trace: traceJSON, backends, engine } = commonJSON(opened, trace);
      writeJson(ctx.stdout, {
        command: 'generate',
        engine,
        files: [{ path: written.path, kind, width: size.width, height: size.height, bytes: written.bytes }],
        images: labels.map((label, i) => ({
          index: i,
          label,
          className: classNames?.[label] ?? null,
          sample: i % batch,
          tile: tiles[i],
        })),
        tokens: result.tokens.map((t, s) => ({ scale: s, patchNum: patchNums[s] ?? null, tokens: Array.from(t) })),
        model: filesToJSON(opened.files),
        timings: {
          fetchMs: ms(opened.fetchMs),
          loadMs: ms(loadMs),
          scales: progress.scaleTimes,
          transformerMs: ms((decodeStart ?? tEnd) - tGen),
          generateMs: ms(generateMs),
          decodeMs: decodeMs === undefined ? null : ms(decodeMs),
          writeMs: ms(writeMs),
          totalMs: ms(now() - tStart),
        },
        trace: traceJSON,
        backends,
        config: { ...settingsToJSON(settings), classes, batch, zoom, out: written.path, model: config },
      });
    } else {
      const what = n === 1 ? '1 image' : `${n} images (${classes.length} × ${batch} grid)`;
      ctx.out(`wrote ${displayPath(written.path, ctx.cwd)}: ${what}, ${size.width}×${size.height}`);
    }
    explain(ctx, flags, opened, trace);
    return 0;
  } finally {
    await model.dispose();
  }
}

/**
 * The request core's memory check counts before loading: every class × --batch images at once (the classes counted
 * from --class, or all of a model with at most 10 classes, as below), the zoomed grid and its PNG, Node's limit on one
 * buffer; a refusal (exit 5) names --batch and --zoom.
 */
function memoryRequest(flags: GenerateFlags, batch: number, zoom: number) {
  let classCount = 1;
  const images = ({ numClasses }: { numClasses: number }) => {
    const tokens = (flags.class ?? []).flatMap((v) => v.split(',')).filter((t) => t.trim());
    classCount = tokens.length || (numClasses <= 10 ? numClasses : 1);
    return classCount * batch;
  };
  const refusal = (err: unknown) =>
    inFlagTerms(
      err,
      (most) => {
        const perClass = Math.floor(most / classCount);
        if (perClass >= 1) return `lower --batch to at most ${perClass}${zoom > 1 ? ' or lower --zoom' : ''}`;
        if (zoom > 1) return `lower --zoom${classCount > 1 ? ' or ask for fewer classes' : ''}`;
        return classCount > 1 ? 'ask for fewer classes' : undefined;
      },
      classCount * batch > 1 || zoom > 1
        ? `(${classCount} class${classCount === 1 ? '' : 'es'} × --batch ${batch}${zoom > 1 ? ` at --zoom ${zoom}` : ''})`
        : '',
    );
  return { images, output: pngOutput(zoom), maxBuffer: MAX_BUFFER_BYTES, refusal };
}
