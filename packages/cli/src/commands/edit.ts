/**
 * `nextscale edit`: zero-shot editing of a picture with a VAR model (in-painting, out-painting,
 * class-conditional redraws), as VAR's demo_zero_shot_edit.ipynb does it: the input is encoded to its
 * token maps, and generation keeps the input's tokens wherever the mask says keep.
 */
import path from 'node:path';
import { Command } from 'commander';
import { editMask, Tensor, throwIfAborted, type EditBox, type EditMode, type EditResult } from '@nextscale/core';
import { boxCells, keepOnGrid } from '@nextscale/core/models';
import type { Context } from '../context.js';
import { parseNumber, settingsToJSON } from '../config/resolve.js';
import { usageError } from '../errors.js';
import {
  maskToKeep,
  readImageFile,
  RESIZE_FILTER,
  toModelImage,
  inputDataError,
  type ModelImage,
  type SourceImage,
} from '../input/image.js';
import { parseClasses } from '../model/classes.js';
import { imageFromBatch, zoomImage, type RgbImage } from '../output/image.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { addCommonOptions, collect, type Wrap } from './common.js';
import {
  addModelOptions,
  addPolicyOptions,
  addSamplingOptions,
  commonJSON,
  explain,
  ms,
  now,
  openModel,
  refuseNonFiniteImages,
  samplingOptions,
  scaleProgress,
  writeImages,
  type ModelRunFlags,
} from './model-run.js';

export interface EditFlags extends ModelRunFlags {
  image?: string[];
  box?: string;
  mode?: string;
  mask?: string;
  class?: string[];
  batch?: string;
  out?: string;
  zoom?: string;
  compare?: boolean;
}

const UNCONDITIONAL = new Set(['none', 'uncond', 'unconditional']);

export function editCommand(wrap: Wrap): Command {
  const cmd = new Command('edit')
    .description(
      'edit a picture with a VAR model: in-paint a box, out-paint around it, or redraw it as another class (zero-shot)',
    )
    .option(
      '-i, --image <file>',
      `the picture to edit (PNG or JPEG); repeatable (same size). Another size or aspect is centre-cropped and resized to the model's resolution (${RESIZE_FILTER})`,
      collect,
    )
    .option('--box <y0,x0,y1,x1>', "the region, as fractions of the picture's side (0..1): top, left, bottom, right")
    .option(
      '--mode <mode>',
      'with --box: inpaint (regenerate the box, keep the rest) or outpaint (keep the box, regenerate the rest)',
      'inpaint',
    )
    .option(
      '--mask <file.png>',
      "instead of --box: a black-and-white picture, white = regenerate, black = keep (the image's size or any square)",
    );
  addModelOptions(cmd)
    .option(
      '-c, --class <class>',
      'class to draw the regenerated part as (number or name; repeatable or a comma list; "uncond" = none). Default: unconditional',
      collect,
    )
    .option('-b, --batch <n>', 'edits per picture and class', '1');
  addSamplingOptions(cmd)
    .option('-o, --out <file.png>', 'output PNG; several edits make one grid', 'edited.png')
    .option('--zoom <n>', 'enlarge each image n× in the PNG, each pixel an n×n block (1-32)', '1')
    .option(
      '--compare',
      'start each row with the input as the model sees it and the same with the regenerated part tinted',
    );
  addPolicyOptions(cmd);
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: EditFlags) => runEdit(ctx, flags)));
}

/** `--box y0,x0,y1,x1` → four numbers (editMask checks the range and emptiness). */
export function parseBox(value: string): EditBox {
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== 4 || parts.some((p) => p === '') || nums.some((v) => !Number.isFinite(v))) {
    throw usageError(
      `--box ${JSON.stringify(value)} is not four numbers`,
      'pass --box y0,x0,y1,x1 as fractions of the side, e.g. --box 0.25,0.25,0.75,0.75',
    );
  }
  return nums as unknown as EditBox;
}

function parseMode(value: string | undefined): EditMode {
  const v = value ?? 'inpaint';
  if (v !== 'inpaint' && v !== 'outpaint')
    throw usageError(`--mode ${JSON.stringify(v)} is not a mode`, 'pass --mode inpaint or --mode outpaint');
  return v;
}

interface Region {
  kind: 'box' | 'mask';
  box?: EditBox;
  mode?: EditMode;
  mask?: SourceImage;
}

/** What the flags ask to edit, checked before the model is loaded. */
function parseRegion(flags: EditFlags): Region {
  if (flags.box !== undefined && flags.mask !== undefined)
    throw usageError('--box and --mask were both given', 'pass one of them: a box, or a mask picture');
  if (flags.box === undefined && flags.mask === undefined) {
    throw usageError('no region to edit', 'pass --box y0,x0,y1,x1 [--mode inpaint|outpaint] or --mask <file.png>');
  }
  if (flags.mask !== undefined && flags.mode !== undefined && flags.mode !== 'inpaint') {
    throw usageError('--mode goes with --box', 'a --mask says itself what to keep (black) and regenerate (white)');
  }
  if (flags.box === undefined) return { kind: 'mask' };
  const box = parseBox(flags.box);
  boxCells(1, box); // range and emptiness now; whether it covers a token cell once the model's grid is known
  return { kind: 'box', box, mode: parseMode(flags.mode) };
}

export async function runEdit(ctx: Context, flags: EditFlags): Promise<number> {
  const tStart = now();
  const batch = parseNumber(flags.batch ?? '1', '--batch', { int: true, positive: true });
  const zoom = parseNumber(flags.zoom ?? '1', '--zoom', { int: true, min: 1, max: 32 });
  const files = flags.image ?? [];
  const region = flags.printConfig ? undefined : parseRegion(flags);
  if (!files.length && !flags.printConfig) throw usageError('no --image given', 'pass --image <file.png|file.jpg>');

  // Read and check every input before the (slow) model load.
  let sources: SourceImage[] = [];
  const validate = async () => {
    sources = await Promise.all(files.map((f) => readImageFile(path.resolve(ctx.cwd, f), '--image')));
    const first = sources[0];
    const other = sources.find((s) => s.width !== first.width || s.height !== first.height);
    if (other) {
      throw inputDataError(
        `the images differ in size: ${first.file} is ${first.width}×${first.height}, ${other.file} is ${other.width}×${other.height}`,
        'edit pictures of one size together (one crop and one mask fit them all), or run edit once per size',
      );
    }
    if (region?.kind === 'mask') region.mask = await readImageFile(path.resolve(ctx.cwd, flags.mask!), '--mask');
  };
  const opened = await openModel(ctx, flags, 'edit', validate);
  if (!opened) return 0;
  const { model, settings, meta, loadMs } = opened;
  try {
    throwIfAborted(ctx.signal);
    const config = model.config;
    const side = model.vae.imageSize;
    const grid = config.patchNums.at(-1)!;
    const classNames = model.classNames ?? meta.classNames;
    const numClasses = config.numClasses;
    const classes = parseEditClasses(flags.class, numClasses, classNames);
    const className = (c: number) => (c === numClasses ? 'unconditional' : (classNames?.[c] ?? `class ${c}`));

    // Inputs at the model's resolution, and the keep mask on the last token grid.
    const inputs: ModelImage[] = [];
    for (const s of sources) inputs.push(await toModelImage(s, side));
    for (const i of inputs) if (i.note) ctx.stderr.write(`nextscale: note: ${i.note}\n`);
    const keep =
      region!.kind === 'box'
        ? editMask(grid, region!.box!, region!.mode!)
        : keepOnGrid(await maskToKeep(region!.mask!, sources[0]), grid);
    const kept = keep.data.reduce((a, v) => a + v, 0);
    if (kept === 0) ctx.warn(`the mask keeps none of the ${grid}×${grid} tokens: the edit is a plain generation`);
    if (kept === grid * grid)
      ctx.warn(`the mask keeps all of the ${grid}×${grid} tokens: the edit reproduces the input's reconstruction`);

    // Rows: picture × class; columns: the batch.
    const rows = inputs.flatMap((input, i) => classes.map((label) => ({ input: i, label })));
    const labels = rows.flatMap((r) => Array<number>(batch).fill(r.label));
    const image =
      inputs.length === 1
        ? inputs[0].tensor
        : stackRows(rows.flatMap((r) => Array<Tensor>(batch).fill(inputs[r.input].tensor)));

    const progress = scaleProgress(ctx, config.patchNums);
    const tEdit = now();
    let result: EditResult;
    try {
      ctx.log(`encoding ${inputs.length === 1 ? 'the input' : `${inputs.length} inputs`}`);
      result = await model.edit({
        image,
        keep,
        labels,
        ...samplingOptions(settings),
        onProgress: progress.onProgress,
        signal: ctx.signal,
      });
      progress.done();
    } finally {
      progress.stop();
    }
    const tEnd = now();
    const decodeStart = progress.decodeStart;
    throwIfAborted(ctx.signal);
    refuseNonFiniteImages(result.images);

    const tWrite = now();
    const n = result.images.shape[0];
    const edits = Array.from({ length: n }, (_, i) => zoomImage(imageFromBatch(result.images, i), zoom));
    const tiles: RgbImage[] = [];
    const prefix = flags.compare ? 2 : 0;
    rows.forEach((r, ri) => {
      if (flags.compare) {
        const plain = imageFromBatch(inputs[r.input].tensor, 0);
        tiles.push(zoomImage(plain, zoom), zoomImage(tintRegenerated(plain, keep), zoom));
      }
      tiles.push(...edits.slice(ri * batch, (ri + 1) * batch));
    });
    const out = path.resolve(ctx.cwd, flags.out ?? 'edited.png');
    const rowLabels = rows.map((r) =>
      inputs.length > 1 ? `${path.basename(sources[r.input].file)} ${className(r.label)}` : className(r.label),
    );
    const written = await writeImages(out, tiles, { columns: prefix + batch, rowLabels }, ctx.signal);
    const writeMs = now() - tWrite;
    const editTile = (i: number) => written.tiles[Math.floor(i / batch) * (prefix + batch) + prefix + (i % batch)];

    if (ctx.json) {
      const { trace, backends } = commonJSON(opened, result.trace);
      writeJson(ctx.stdout, {
        command: 'edit',
        files: [
          {
            path: written.written.path,
            kind: written.kind,
            width: written.size.width,
            height: written.size.height,
            bytes: written.written.bytes,
          },
        ],
        inputs: sources.map((s, i) => ({
          path: s.file,
          format: s.format,
          width: s.width,
          height: s.height,
          crop: inputs[i].crop,
          resized: inputs[i].resized,
        })),
        region: {
          kind: region!.kind,
          ...(region!.kind === 'box' ? { box: region!.box, mode: region!.mode } : { mask: region!.mask!.file }),
          grid,
          keep: Array.from(keep.data),
          keptTokens: kept,
        },
        images: labels.map((label, i) => ({
          index: i,
          input: rows[Math.floor(i / batch)].input,
          label,
          className: label === numClasses ? null : (classNames?.[label] ?? null),
          sample: i % batch,
          tile: editTile(i),
        })),
        tokens: result.tokens.map((t, s) => ({
          scale: s,
          patchNum: config.patchNums[s] ?? null,
          tokens: Array.from(t),
          forced: Array.from(result.forced[s]),
        })),
        timings: {
          loadMs: ms(loadMs),
          scales: progress.scaleTimes,
          editMs: ms(tEnd - tEdit),
          decodeMs: decodeStart === undefined ? null : ms(tEnd - decodeStart),
          writeMs: ms(writeMs),
          totalMs: ms(now() - tStart),
        },
        trace,
        backends,
        config: {
          ...settingsToJSON(settings),
          classes,
          batch,
          zoom,
          compare: Boolean(flags.compare),
          out: written.written.path,
          model: config,
        },
      });
    } else {
      const what = n === 1 ? '1 edit' : `${n} edits (${rows.length} × ${batch} grid)`;
      ctx.out(
        `wrote ${displayPath(written.written.path, ctx.cwd)}: ${what}, ${written.size.width}×${written.size.height}; kept ${kept} of ${grid * grid} tokens of the input`,
      );
    }
    explain(ctx, flags, opened, result.trace);
    return 0;
  } finally {
    await model.dispose();
  }
}

/** `--class` values, with 'uncond'/'none' for the null class; none given = unconditional. */
function parseEditClasses(values: string[] | undefined, numClasses: number, names: string[] | undefined): number[] {
  const tokens = (values ?? [])
    .flatMap((v) => v.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  if (!tokens.length) return [numClasses];
  return tokens.map((t) => (UNCONDITIONAL.has(t.toLowerCase()) ? numClasses : parseClasses([t], numClasses, names)[0]));
}

/** (1, 3, S, S) tensors → (n, 3, S, S). */
function stackRows(ts: Tensor[]): Tensor {
  const [, c, h, w] = ts[0].shape as [number, number, number, number];
  const out = new Tensor([ts.length, c, h, w]);
  ts.forEach((t, i) => out.data.set(t.data, i * t.data.length));
  return out;
}

/** The input with the pixels of regenerated tokens tinted red, to show what the edit changes. */
function tintRegenerated(img: RgbImage, keep: Tensor): RgbImage {
  const g = keep.shape[0];
  const data = img.data.slice();
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const cell = Math.floor((y * g) / img.height) * g + Math.floor((x * g) / img.width);
      if (keep.data[cell]) continue;
      const o = (y * img.width + x) * 3;
      data[o] = Math.round(data[o] * 0.5 + 255 * 0.5);
      data[o + 1] = Math.round(data[o + 1] * 0.5);
      data[o + 2] = Math.round(data[o + 2] * 0.5);
    }
  }
  return { width: img.width, height: img.height, data };
}
