/**
 * Next-scale generation, `autoregressive_infer_cfg` (docs/var-port.md §5.1): per scale, run the
 * blocks on that scale's tokens only, with each block's keys/values kept in a routed attention state
 * (the KV cache), mix the [cond; uncond] logits with the ramped CFG weight, sample, and let the VQ-VAE
 * fold the tokens into f_hat and produce the next scale's input. Finally decode f_hat to images.
 */
import type { RoutedState } from '../../attention/router.js';
import { getDenseEngine } from '../../engines/active.js';
import { throwIfAborted, UsageError } from '../../errors.js';
import { Rng } from '../../random.js';
import { Tensor, type TensorLike } from '../../tensor.js';
import type { AttendFn } from './block.js';
import { mixGuidance, progressRatio } from './guidance.js';
import { assertSamplingOptions, gumbelSoftmax, sampleTopKTopP, type RowRng } from './sampling.js';
import { fusedBlock, releaseFusedCache } from './fused-block.js';
import { blockAttentionCall } from './self-attention.js';
import type { VARRunContext, VARTransformer } from './var-transformer.js';

export interface GenerateProgress {
  stage: 'transformer' | 'decode';
  /** Scales finished so far (1..scales) during 'transformer'; equal to scales at 'decode'. */
  scale: number;
  scales: number;
}

export interface GenerateOptions {
  /** One class index per image, in 0..numClasses; numClasses means unconditional. */
  labels: readonly number[];
  /** Guidance strength; the weight ramps as cfg·si/(S−1). 0 = no guidance. Default 1.5. */
  cfg?: number;
  /** Default 900 (the released demo); 1 = greedy. */
  topK?: number;
  /** Default 0.96 (the README's FID setting); 0 = off. */
  topP?: number;
  /** Seed of the sampling Rng (one stream for the whole batch, drawn in row order). Default 0. */
  seed?: number;
  /**
   * One seed per image (labels.length of them, integers in 0..2³²−1), instead of `seed`: image b draws
   * from its own Rng, so its tokens do not depend on the batch it is in or its position there.
   */
  seeds?: readonly number[];
  /** Gumbel-softmax soft token embeddings instead of hard lookups (the demo's more_smooth). */
  moreSmooth?: boolean;
  onProgress?: (event: GenerateProgress) => void;
  /**
   * Awaited after each scale with f_hat so far, so a caller can decode the coarse-to-fine partial image
   * (`vae.fhatToImage`); the next scale starts when it settles. `fHat` is the live buffer: copy it to keep it.
   */
  onScale?: (event: ScaleEvent) => void | Promise<void>;
  signal?: AbortSignal;
  /**
   * This is the model's last generation: once the last scale is done, before the decode, the dense engine frees what
   * it holds for the transformer's weights (DenseEngine.forget), so the decode does not run on top of them (on the
   * onnx engine, d16: ~1.2 GB). The model can then no longer generate. Default false.
   */
  releaseTransformer?: boolean;
}

export interface ScaleEvent {
  /** Scales finished so far (1..scales). */
  scale: number;
  scales: number;
  /** (B, Cvae, pn_last, pn_last): the sum of every finished scale's upsampled token map. */
  fHat: Tensor;
}

/** Seeds are 32-bit: 0 … 2³² − 1. */
export const MAX_SEED = 0xffff_ffff;

export const GENERATE_DEFAULTS = Object.freeze({ cfg: 1.5, topK: 900, topP: 0.96, seed: 0, moreSmooth: false });

/** The part of the VQ-VAE that next-scale generation uses. */
export interface NextScaleVAE {
  quantizer: {
    /** The codebook (V, Cvae). */
    embedding: TensorLike;
    /** Token indices (B·pn²) → codebook vectors (B, Cvae, pn, pn). */
    lookup(idx: Int32Array, batch: number, pn: number): Tensor;
    /** Adds scale si's contribution to fHat in place; returns the next scale's input map (or fHat at the last scale). */
    nextAutoregressiveInput(si: number, fHat: Tensor, h: Tensor): Promise<Tensor>;
  };
  /** f_hat → images clamped to [−1, 1]; onRawImage sees the unclamped image. */
  fhatToImage(
    fHat: Tensor,
    run: Pick<VARRunContext, 'router' | 'trace'> & { signal?: AbortSignal; onRawImage?: (image: Tensor) => void },
  ): Tensor | Promise<Tensor>;
}

/**
 * Called at every scale after sampling, before the token map is folded into f_hat: returns the tokens
 * and the embedded map (B, Cvae, pn, pn) to use instead (zero-shot editing's replacement, edit.ts).
 */
export type ScaleTokenHook = (si: number, sampled: Int32Array, hMap: Tensor) => { tokens: Int32Array; hMap: Tensor };

export interface NextScaleResult {
  /** Token indices per scale, B·pn² each (row-major): sampled, or what the ScaleTokenHook put in their place. With moreSmooth, the hard samples (the soft mixture built the image). */
  tokens: Int32Array[];
  /** (B, 3, H, W) in [0, 1]. */
  images: Tensor;
}

interface ResolvedOptions {
  labels: Int32Array;
  cfg: number;
  topK: number;
  topP: number;
  seed: number;
  seeds?: readonly number[];
  moreSmooth: boolean;
}

function resolveOptions(transformer: VARTransformer, o: GenerateOptions): ResolvedOptions {
  if (!o || typeof o !== 'object') throw new UsageError('generate() needs an options object with labels');
  const r = { ...GENERATE_DEFAULTS, ...definedOnly(o), labels: transformer.labels(o.labels) };
  // The guidance weight is cfg·ratio: a negative cfg guides away from the class, never what is meant.
  if (!Number.isFinite(r.cfg) || r.cfg < 0)
    throw new UsageError(`cfg must be a finite number of at least 0, got ${r.cfg}`);
  // The generator takes 32 bits of seed; a larger one would silently alias a smaller one's image.
  if (!Number.isInteger(r.seed) || r.seed < 0 || r.seed > MAX_SEED)
    throw new UsageError(`seed must be an integer from 0 to ${MAX_SEED}, got ${r.seed}`);
  if (r.seeds !== undefined) assertSeeds(r.seeds, r.labels.length);
  if (typeof r.moreSmooth !== 'boolean') throw new UsageError(`moreSmooth must be a boolean, got ${r.moreSmooth}`);
  if (o.releaseTransformer !== undefined && typeof o.releaseTransformer !== 'boolean')
    throw new UsageError(`releaseTransformer must be a boolean, got ${String(o.releaseTransformer)}`);
  assertSamplingOptions(r);
  return r;
}

function assertSeeds(seeds: readonly number[], batch: number): void {
  if (!Array.isArray(seeds)) throw new UsageError('seeds must be an array of integers, one per label');
  if (seeds.length !== batch)
    throw new UsageError(`seeds must have one entry per label (${batch}), got ${seeds.length}`);
  for (const s of seeds) {
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff)
      throw new UsageError(`every seed must be an integer in 0..4294967295, got ${s}`);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export async function generateNextScale(
  transformer: VARTransformer,
  vae: NextScaleVAE,
  options: GenerateOptions,
  ctx: VARRunContext,
  replaceTokens?: ScaleTokenHook,
): Promise<NextScaleResult> {
  const o = resolveOptions(transformer, options);
  const { config } = transformer;
  const { patchNums, vocabSize: V, cvae } = config;
  const S = patchNums.length;
  const B = o.labels.length;
  // With per-image seeds each image has its own stream; a scale's logits rows are image-major (B, pn², V).
  const imageRngs = o.seeds?.map((s) => new Rng(s));
  const shared = imageRngs ? undefined : new Rng(o.seed);
  const rngForRows = (T: number): RowRng =>
    shared ?? Array.from({ length: B * T }, (_, r) => imageRngs![Math.floor(r / T)]!);
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  // CFG batch: conditional rows first, then the same number of unconditional (null-class) rows.
  const rows = new Int32Array(2 * B);
  rows.set(o.labels);
  rows.fill(config.numClasses, B);
  const c = await transformer.condition(rows);

  const last = patchNums[S - 1]!;
  const fHat = new Tensor([B, cvae, last, last]);
  const tokens: Int32Array[] = [];
  // Each block runs whole in the engine, with the engine holding its KV cache under `caches[i]` (fused-block.ts), or
  // op by op with its KV cache in a routed attention state.
  const caches = transformer.weights.blocks.map(() => ({}));
  const calls = transformer.weights.blocks.map((b, i) =>
    blockAttentionCall(config, b, i, 2 * B, transformer.scaleEnds),
  );
  const fused = calls.map((call, i) => {
    const f = ctx.capture
      ? null
      : fusedBlock(ctx.router, ctx.trace, call, transformer.weights.blocks[i]!, config, { cache: caches[i]! });
    return f && ((x: Tensor, m: Tensor) => (throwIfAborted(signal), f(x, m)));
  });
  const states: (RoutedState | null)[] = calls.map((call, i) =>
    fused[i] ? null : ctx.router.openState(call, ctx.trace),
  );
  try {
    const attendFor =
      (layer: number): AttendFn =>
      async (q, k, v) => {
        throwIfAborted(signal); // per block too: the last scales take seconds each on large models
        await states[layer]!.append(k, v); // (only blocks without a fused call get here)
        return states[layer]!.attend(q);
      };
    let x = transformer.firstScaleInput(c);
    let curL = 0;
    for (let si = 0; si < S; si++) {
      throwIfAborted(signal);
      const pn = patchNums[si]!;
      const ratio = progressRatio(si, S);
      const sfx = `.s${si}`;
      curL += pn * pn;

      const h = await transformer.runBlocks(x, c, attendFor, ctx.capture, sfx, fused);
      const raw = await transformer.logits(h, c);
      ctx.capture?.(`logits_raw${sfx}`, raw.clone());
      const logits = mixGuidance(raw, o.cfg * ratio);
      ctx.capture?.(`logits_cfg${sfx}`, logits.clone());

      const rng = rngForRows(pn * pn);
      const idx = sampleTopKTopP(logits.data, V, o, rng); // filters logits in place, as VAR does
      const sampledMap = o.moreSmooth
        ? softTokenMap(gumbelSoftmax(logits.data, V, ratio, rng), vae.quantizer.embedding, B, pn)
        : vae.quantizer.lookup(idx, B, pn);
      const { tokens: used, hMap } = replaceTokens?.(si, idx, sampledMap) ?? { tokens: idx, hMap: sampledMap };
      tokens.push(used);

      const next = await vae.quantizer.nextAutoregressiveInput(si, fHat, hMap);
      ctx.capture?.(`fhat${sfx}`, fHat.clone());
      if (si !== S - 1) {
        ctx.capture?.(`next_map${sfx}`, next.clone());
        x = await transformer.nextScaleInput(next, curL, 2);
      }
      onProgress?.({ stage: 'transformer', scale: si + 1, scales: S });
      if (options.onScale) await options.onScale({ scale: si + 1, scales: S, fHat });
    }
  } finally {
    for (const s of states) s?.dispose();
    for (const [i, f] of fused.entries()) if (f) releaseFusedCache(caches[i]!);
  }
  if (options.releaseTransformer) await getDenseEngine()?.forget?.(transformer.weightArrays());

  throwIfAborted(signal);
  onProgress?.({ stage: 'decode', scale: S, scales: S });
  const capture = ctx.capture;
  const onRawImage = capture && ((raw: Tensor) => capture('img_raw', raw.clone()));
  const pm1 = await vae.fhatToImage(fHat, {
    router: ctx.router,
    trace: ctx.trace,
    signal,
    ...(onRawImage && { onRawImage }),
  });
  const images = new Tensor(
    pm1.shape,
    pm1.data.map((v) => (v + 1) * 0.5),
  );
  return { tokens, images };
}

/** Soft weights (B·pn², V) @ codebook (V, Cvae) → (B, Cvae, pn, pn). */
function softTokenMap(weights: Float32Array, embedding: TensorLike, B: number, pn: number): Tensor {
  const [V, Cv] = embedding.shape as [number, number];
  const T = pn * pn;
  const out = new Tensor([B, Cv, pn, pn]);
  const acc = new Float64Array(Cv);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      acc.fill(0);
      const w = (b * T + t) * V;
      for (let v = 0; v < V; v++) {
        const p = weights[w + v]!;
        if (p === 0) continue;
        for (let ch = 0; ch < Cv; ch++) acc[ch] = acc[ch]! + p * embedding.data[v * Cv + ch]!;
      }
      for (let ch = 0; ch < Cv; ch++) out.data[(b * Cv + ch) * T + t] = acc[ch]!;
    }
  }
  return out;
}
