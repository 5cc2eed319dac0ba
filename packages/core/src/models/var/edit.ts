/**
 * Zero-shot editing as FoundationVision/VAR's demo_zero_shot_edit.ipynb does it
 * (`autoregressive_infer_cfg_with_mask`): encode the input image to its token maps, then generate as
 * `autoregressive_infer_cfg` does, except that at every scale, after sampling, the input's tokens
 * replace the sampled ones wherever the keep mask (resized to that scale) says so. f_hat and the next
 * scale's input are built from the mixed map. The generation loop is autoregressive.ts's, with its
 * per-scale hook; every attention call (the VQ-VAE's included) goes through the run's router.
 */
import { InputError, throwIfAborted, UsageError } from '../../errors.js';
import { asTensor, Tensor, type TensorLike } from '../../tensor.js';
import type { VQVAERunOptions } from '../vqvae/context.js';
import {
  generateNextScale,
  type GenerateOptions,
  type GenerateProgress,
  type NextScaleResult,
  type NextScaleVAE,
} from './autoregressive.js';
import { forceMask } from './edit-mask.js';
import type { VARRunContext, VARTransformer } from './var-transformer.js';

export interface EditProgress {
  /** 'encode' (once, before the first scale) is the input's encoding; then as generate reports. */
  stage: 'encode' | GenerateProgress['stage'];
  /** 0 at 'encode'; as GenerateProgress otherwise. */
  scale: number;
  scales: number;
}

export interface EditOptions extends Omit<GenerateOptions, 'onProgress'> {
  /**
   * The images to edit, (B, 3, H, W) or (3, H, W), values in [0, 1], H = W = the model's image size
   * (the last patch number × the VQ-VAE's down-sampling). One image (B = 1) is edited once per label.
   */
  image: TensorLike;
  /**
   * Where to keep the input's tokens on the last patch grid: (ph, pw) for every image or (B, ph, pw),
   * 1 = keep, 0 = let VAR generate (`editMask` makes one from a box; `keepOnGrid` from a drawn mask).
   */
  keep: TensorLike;
  onProgress?: (event: EditProgress) => void;
}

/** The VQ-VAE as editing uses it: next-scale generation's part plus the encoder. */
export interface EditVAE extends NextScaleVAE {
  readonly imageSize: number;
  /** Images (B, 3, S, S) in [−1, 1] → token maps per scale (VAR's img_to_idxBl). */
  encode(images: Tensor, run: VQVAERunOptions): Promise<Int32Array[]>;
}

export interface EditNextScaleResult extends NextScaleResult {
  /** The input's token maps per scale, B·pn² each (the image's encoding, repeated per label when B = 1). */
  inputTokens: Int32Array[];
  /** Per scale, B·pn² entries: 1 where the input's token was used, 0 where the sampled one was. */
  forced: Uint8Array[];
}

export async function editNextScale(
  transformer: VARTransformer,
  vae: EditVAE,
  options: EditOptions,
  ctx: VARRunContext,
): Promise<EditNextScaleResult> {
  if (!options || typeof options !== 'object')
    throw new UsageError('edit() needs an options object with image, keep and labels');
  const { patchNums, cvae } = transformer.config;
  const S = patchNums.length;
  const labels = transformer.labels(options.labels);
  const B = labels.length;
  const image = editImage(options.image, vae.imageSize, B);
  const keep = keepMaps(options.keep, patchNums[S - 1], B);
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  onProgress?.({ stage: 'encode', scale: 0, scales: S });
  // VAR's normalize_01_into_pm1: x + x − 1 in float32 (one rounding, as Float32Array stores x·2 − 1).
  const pm1 = new Tensor(
    image.shape,
    image.data.map((v) => v * 2 - 1),
  );
  const encoded = await vae.encode(pm1, { router: ctx.router, trace: ctx.trace, signal });
  const inputTokens = encoded.map((t) => repeatRows(t, image.shape[0], B));
  const forced = patchNums.map((pn) => forceMask(keep, pn));

  const replace = (si: number, sampled: Int32Array, hMap: Tensor) => {
    const pn = patchNums[si];
    const T = pn * pn;
    const force = forced[si];
    const input = inputTokens[si];
    ctx.capture?.(`sampled.s${si}`, new Tensor([B, T], Float32Array.from(sampled)));
    const tokens = sampled.map((t, i) => (force[i] ? input[i] : t));
    // `gt·force + h·(1 − force)` with force ∈ {0, 1} is a selection; the input's rows come from the codebook.
    const gt = vae.quantizer.lookup(input, B, pn);
    const mixed = hMap.clone();
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < T; p++) {
        if (!force[b * T + p]) continue;
        for (let c = 0; c < cvae; c++) mixed.data[(b * cvae + c) * T + p] = gt.data[(b * cvae + c) * T + p];
      }
    }
    return { tokens, hMap: mixed };
  };
  const { image: _image, keep: _keep, ...sampling } = options;
  const result = await generateNextScale(transformer, vae, sampling, ctx, replace);
  return { ...result, inputTokens, forced };
}

/** The image as (B', 3, S, S) with B' ∈ {1, B}, values finite and in [0, 1]. */
function editImage(image: TensorLike, side: number, B: number): Tensor {
  if (!image || typeof image !== 'object') throw new UsageError('edit() needs image: a (B, 3, H, W) tensor in [0, 1]');
  let t = asTensor(image, 'image');
  if (t.shape.length === 3) t = t.reshape([1, ...t.shape]);
  const [n, c, h, w] = t.shape;
  if (t.shape.length !== 4 || c !== 3 || h !== side || w !== side) {
    throw new UsageError(
      `image must be (B, 3, ${side}, ${side}) or (3, ${side}, ${side}) for this model, got (${image.shape.join(', ')}); resize it to ${side}×${side} first`,
    );
  }
  if (n !== 1 && n !== B)
    throw new UsageError(`image has ${n} images but there are ${B} labels; give one image, or one per label`);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    if (!Number.isFinite(v))
      throw new InputError(
        `image contains a non-finite value (${v}) at flat index ${i}; images must be finite values in [0, 1]`,
      );
    if (v < 0 || v > 1)
      throw new UsageError(
        `image value ${v} at flat index ${i} is outside [0, 1]; edit takes images in [0, 1] (map [−1, 1] with (x + 1) / 2)`,
      );
  }
  return t;
}

/** keep as (B, ph, ph) of 0/1 (a 2-D map is shared by every image). */
function keepMaps(keep: TensorLike, side: number, B: number): Tensor {
  if (!keep || typeof keep !== 'object')
    throw new UsageError(`edit() needs keep: a (${side}, ${side}) 0/1 mask (editMask makes one)`);
  const k = asTensor(keep, 'keep');
  const rank = k.shape.length;
  const [h, w] = k.shape.slice(-2);
  if ((rank !== 2 && rank !== 3) || h !== side || w !== side) {
    throw new UsageError(
      `keep must be (${side}, ${side}) or (B, ${side}, ${side}), the last patch grid, got (${k.shape.join(', ')}); editMask(${side}, box, mode) makes one`,
    );
  }
  if (rank === 3 && k.shape[0] !== 1 && k.shape[0] !== B) {
    throw new UsageError(`keep has ${k.shape[0]} masks but there are ${B} labels; give one mask, or one per label`);
  }
  const bad = k.data.findIndex((v) => v !== 0 && v !== 1);
  if (bad >= 0)
    throw new UsageError(`keep must hold only 0 (regenerate) and 1 (keep), got ${k.data[bad]} at flat index ${bad}`);
  const n = rank === 3 ? k.shape[0] : 1;
  return new Tensor([B, side, side], repeatRows(k.data, n, B));
}

/** n rows of equal length → B rows (n = B: unchanged; n = 1: the one row B times). */
function repeatRows<T extends Int32Array | Float32Array>(data: T, n: number, B: number): T {
  if (n === B) return data;
  const out = new (data.constructor as new (len: number) => T)(data.length * B);
  for (let b = 0; b < B; b++) out.set(data, b * data.length);
  return out;
}
