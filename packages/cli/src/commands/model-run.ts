/**
 * What the commands that run a VAR model (`generate`, `edit`) share: the model, sampling and policy
 * options, settings resolution and model loading, per-scale progress with timings, writing one image
 * or a labelled grid, and the parts of the --json document and --explain output that do not depend on
 * the command. Opening the model itself is model/open.ts, shared with `sample` and `worker`.
 */
import { Command } from 'commander';
import type { Tensor } from '@nextscale/core';
import { countNonFinite, describeNonFinite } from '@nextscale/core/weights';
import type { Context } from '../context.js';
import { settingsToJSON, type ResolvedSettings } from '../config/resolve.js';
import type { OpenedModel, ModelRunFlags } from '../model/open.js';
import { composeGrid, type GridTile } from '../output/grid.js';
import type { RgbImage } from '../output/image.js';
import { writePng } from '../output/png.js';
import { createProgress } from '../output/progress.js';
import { formatTrace, traceToJSON } from '../output/trace.js';
import { describeSource, engineToJSON } from '../engines/activate.js';
import { weightsError } from '../errors.js';

export { flagLayer, openModel, filesToJSON, type ModelRunFlags, type OpenedModel } from '../model/open.js';

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option(
      '--model <name>',
      "a released model by name (var-d16 … var-d36; 'nextscale models'), downloaded into the Hugging Face cache on first use",
    )
    .option('--var <file>', 'VAR transformer weights (.pth or .safetensors); default: the shipped model')
    .option('--vae <file>', 'VQ-VAE weights (.pth or .safetensors); default: the shipped model')
    .option('--patch-nums <list>', 'patch sizes per scale, e.g. 1,2,3,4,5,6,8,10,13,16 (default: from the weights)')
    .option('--num-heads <n>', 'attention heads (needed only when attention is not l2-normalised)')
    .option(
      '--engine <id>',
      'dense engine to compute on: js, wasm, onnx, … (default: NEXTSCALE_ENGINE, config "engine", else the best installed)',
    );
}

export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'random seed (default 0)')
    .option('--cfg <x>', "classifier-free guidance scale (default: the model's, else 1.5)")
    .option('--top-k <n>', "top-k sampling, 0 = off (default: the model's, else 900)")
    .option('--top-p <x>', "top-p sampling, 0 = off (default: the model's, else 0.96)")
    .option('--more-smooth', "Gumbel-softmax smoothing of the token maps (VAR's more_smooth)")
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

export const now = () => performance.now();
export const ms = (t: number) => Math.round(t * 10) / 10;

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
    const pn = patchNums[e.scale - 1];
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
export async function writeImages(
  out: string,
  rgb: RgbImage[],
  grid: { columns: number; rowLabels: string[] },
  signal: AbortSignal,
): Promise<WrittenImages> {
  if (rgb.length === 1) {
    const written = await writePng(out, rgb[0], signal);
    return {
      written,
      tiles: [{ row: 0, col: 0, x: 0, y: 0, width: rgb[0].width, height: rgb[0].height }],
      size: rgb[0],
      kind: 'image',
    };
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
export function explain(
  ctx: Context,
  flags: ModelRunFlags,
  opened: OpenedModel,
  trace: Parameters<typeof formatTrace>[0],
): void {
  if (!flags.explain) return;
  ctx.stderr.write(formatTrace(trace, opened.policy.name));
  const e = opened.engine;
  ctx.stderr.write(
    `dense engine: ${e.id} (${e.name}, ${e.package}@${e.version}; chosen by ${describeSource(e.source)})\n`,
  );
}
