/**
 * A loaded VAR pipeline: the transformer, its VQ-VAE and one attention router (every backend probed
 * and created before the first call). This is what `loadVAR` returns.
 */
import type { AttentionPolicy } from '../attention/policy.js';
import { priorityPolicy } from '../attention/policy.js';
import { getDefaultRegistry, type Registry } from '../plugs/registry.js';
import { AttentionRouter } from '../attention/router.js';
import { AttentionTrace } from '../attention/trace.js';
import type { DenseEngine } from '../engines/contract.js';
import type { EngineRegistry } from '../plugs/registry.js';
import { selectEngine } from '../engines/select.js';
import { UsageError } from '../errors.js';
import { activeEngineInfo, engineWasChosen, setDenseEngine } from '../engines/active.js';
import { generateNextScale, type GenerateOptions } from '../models/var/autoregressive.js';
import type { CaptureFn } from '../models/var/capture.js';
import { editNextScale, type EditOptions } from '../models/var/edit.js';
import type { VARConfig } from '../models/var/config.js';
import { blockAttentionCall } from '../models/var/self-attention.js';
import { stateDictLabel, type StateDictLike } from '../models/var/state-dict.js';
import { VARTransformer } from '../models/var/var-transformer.js';
import { VQVAE } from '../models/vqvae/index.js';
import { asTensor, type Tensor, type TensorLike } from '../tensor.js';
import { assertFiniteWeights } from '../weights/finite.js';
import { shapeOnlyTensor } from '../weights/load.js';
import { classNamesFromMetadata } from './class-names.js';
import { checkVAECompatibility } from './compatibility.js';

export interface VARModelOptions {
  /** Overrides the schedule read from metadata (or the released 256-px default when L = 680). */
  patchNums?: readonly number[];
  /** Needed only when attention is not l2-normalised. */
  numHeads?: number;
  /** Default: the process-wide registry that backend packages register into. */
  registry?: Registry;
  /** Default: priorityPolicy() (the best available exact backend). */
  policy?: AttentionPolicy;
  /** Options for each backend's create(), by backend id (e.g. `{ gpu: { mode: 'webgpu' } }`). */
  backendOptions?: Record<string, Record<string, unknown>>;
  /**
   * The dense engine to compute on (process-wide, see setDenseEngine): an engine id ('js', 'wasm', 'onnx', …) or an
   * engine object. Absent: the engine already chosen (setDenseEngine or an earlier loadVAR) stays; if none was,
   * NEXTSCALE_ENGINE's, else the highest-priority available one is selected. A named engine that is missing throws
   * EngineUnavailableError.
   */
  engine?: string | DenseEngine;
  /** Where engine ids are looked up (default: the process-wide engine registry). */
  engineRegistry?: EngineRegistry;
  /** Threads for the engine's create() (default: NEXTSCALE_THREADS, else the engine's default). */
  threads?: number;
  /**
   * false: without the VQ-VAE encoder, which only editing (vae.encode) runs: its weights (168 MiB of the released
   * VQ-VAE's 416) are not read by loadVAR nor kept, and vae.encode throws a UsageError. Default true.
   */
  encoder?: boolean;
}

export interface GenerateResult {
  /** Sampled tokens per scale, B·pn² each (row-major). */
  tokens: Int32Array[];
  /** (B, 3, H, W) in [0, 1]. */
  images: Tensor;
  /** Every attention routing decision of this generation. */
  trace: AttentionTrace;
}

export interface EditResult extends GenerateResult {
  /** Tokens actually used per scale: the input's where kept, the sampled ones elsewhere. */
  tokens: Int32Array[];
  /** The input's token maps per scale (its encoding), B·pn² each. */
  inputTokens: Int32Array[];
  /** Per scale, B·pn² entries: 1 where the input's token was kept. */
  forced: Uint8Array[];
}

/** The VQ-VAE with the pipeline's router built in. */
export interface VAEHandle {
  readonly model: VQVAE;
  /** Image side of this schedule. */
  readonly imageSize: number;
  /** Images (B, 3, S, S) in [−1, 1] (VAR's convention, `x·2 − 1` from [0, 1]) → token maps per scale. */
  encode(images: TensorLike): Promise<Int32Array[]>;
  /** Token maps per scale → images (B, 3, S, S) in [0, 1]. */
  decode(tokens: readonly Int32Array[]): Promise<Tensor>;
}

/** The VQ-VAE state dict's encoder tensors (VARModelOptions.encoder). */
export const isEncoderKey = (key: string): boolean => key.startsWith('encoder.');

export class VARModel {
  readonly vae: VAEHandle;
  private disposed = false;
  /** Set by a generation with releaseTransformer: the engine no longer holds the transformer's weights. */
  private transformerReleased = false;

  private constructor(
    readonly transformer: VARTransformer,
    vqvae: VQVAE,
    readonly router: AttentionRouter,
    readonly classNames: string[] | undefined,
  ) {
    this.vae = {
      model: vqvae,
      imageSize: vqvae.imageSize,
      encode: (images) => vqvae.encode(asTensor(images, 'images'), this.run()),
      decode: (tokens) => vqvae.decode(tokens, this.run()),
    };
  }

  /** Builds the pipeline from in-memory state dicts (loadVAR reads the files, then calls this). */
  static async fromStateDicts(
    var_: StateDictLike,
    vae: StateDictLike,
    options: VARModelOptions = {},
  ): Promise<VARModel> {
    await activateEngine(options);
    const varFile = stateDictLabel(var_, 'VAR state dict');
    const vaeFile = stateDictLabel(vae, 'VQ-VAE state dict');
    const transformer = VARTransformer.fromStateDict(var_, {
      patchNums: options.patchNums,
      numHeads: options.numHeads,
    });
    const { config } = transformer;
    const withEncoder = options.encoder !== false;
    // without the encoder its tensors are kept as shapes only (the VQ-VAE's config is inferred from them)
    const vqvae = VQVAE.fromStateDict(
      new Map(
        [...vae.tensors].map(([k, t]) => [
          k,
          withEncoder || !isEncoderKey(k) ? asTensor(t, k) : shapeOnlyTensor(t.shape),
        ]),
      ),
      { patchNums: config.patchNums, file: vaeFile, encoder: withEncoder },
    );
    checkVAECompatibility(config, vqvae, { var: varFile, vae: vaeFile });
    // NaN/±Inf weights would give garbage images with no error; the additive mask buffer alone may hold −Inf.
    assertFiniteWeights(var_.tensors, varFile, { negInfAllowed: (k) => k === 'attn_bias_for_masking' });
    assertFiniteWeights(vae.tensors, vaeFile);
    const classNames = classNamesFromMetadata(var_.metadata, config.numClasses, varFile);

    const router = await AttentionRouter.create({
      registry: options.registry ?? getDefaultRegistry(),
      policy: options.policy ?? priorityPolicy(),
      backendOptions: options.backendOptions,
    });
    try {
      // Ask the policy once now, so that "no backend can serve this model" surfaces at load time.
      router.decide(blockAttentionCall(config, transformer.weights.blocks[0], 0, 1, transformer.scaleEnds));
    } catch (err) {
      await router.dispose();
      throw err;
    }
    return new VARModel(transformer, vqvae, router, classNames);
  }

  /** The dense engine the model computes on (process-wide: the one active now). */
  get engine(): { id: string; name: string } {
    return activeEngineInfo();
  }

  get config(): VARConfig {
    return this.transformer.config;
  }

  /** Class-conditional generation with classifier-free guidance; see GenerateOptions for the defaults. */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    this.checkTransformer();
    // set before the run: once the engine starts releasing, a retry would find only some of the weights
    if (options?.releaseTransformer === true) this.transformerReleased = true;
    const trace = new AttentionTrace();
    const { tokens, images } = await generateNextScale(this.transformer, this.vae.model, options, {
      router: this.router,
      trace,
    });
    return { tokens, images, trace };
  }

  /**
   * Zero-shot editing (in-painting, out-painting, class-conditional redraws) as VAR's
   * demo_zero_shot_edit.ipynb does it; see EditOptions. The trace holds the encoder's attention too.
   */
  async edit(options: EditOptions): Promise<EditResult> {
    this.checkTransformer();
    const trace = new AttentionTrace();
    const result = await editNextScale(this.transformer, this.vae.model, options, { router: this.router, trace });
    return { ...result, trace };
  }

  /** Teacher forcing: labels (B) and xBLCv (B, L − first_l, Cvae) → logits (B, L, V). */
  async forward(
    labels: readonly number[],
    xBLCv: TensorLike,
    extra: { trace?: AttentionTrace; capture?: CaptureFn } = {},
  ): Promise<Tensor> {
    this.checkTransformer();
    return this.transformer.forward(labels, xBLCv, {
      router: this.router,
      trace: extra.trace ?? new AttentionTrace(),
      capture: extra.capture,
    });
  }

  /** Releases every backend instance. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.router.dispose(), this.transformer.close()]);
  }

  private run() {
    this.checkOpen();
    return { router: this.router, trace: new AttentionTrace() };
  }

  private checkOpen(): void {
    if (this.disposed) throw new UsageError('this VAR model has been disposed');
  }

  private checkTransformer(): void {
    this.checkOpen();
    if (this.transformerReleased)
      throw new UsageError(
        "this VAR model's transformer was released by generate({ releaseTransformer: true }); load the model again to generate",
      );
  }
}

/** Makes the engine `options` ask for active (see VARModelOptions.engine). */
async function activateEngine(options: VARModelOptions): Promise<void> {
  const { engine } = options;
  if (typeof engine === 'object' && engine !== null) {
    setDenseEngine(engine);
    return;
  }
  if (engine === undefined && engineWasChosen()) return;
  const selected = await selectEngine({
    ...(engine === undefined ? {} : { engine }),
    ...(options.engineRegistry ? { registry: options.engineRegistry } : {}),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  });
  setDenseEngine(selected.engine);
}
