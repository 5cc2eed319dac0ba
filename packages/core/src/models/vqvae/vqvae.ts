/**
 * The multi-scale VQ-VAE of VAR: images ↔ token pyramids. Built from a state dict whose hyper-parameters
 * are inferred from the shapes; the patch-number schedule is the one thing the file cannot tell.
 */
import { InputError, UsageError, WeightsError } from '../../errors.js';
import { clamp } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import { Conv2d, conv3x3 } from './blocks.js';
import { inferVQVAEConfig, validateVQVAEStateDict, type VQVAEConfig } from './config.js';
import { emit, type VQVAERunOptions } from './context.js';
import { Decoder } from './decoder.js';
import { Encoder } from './encoder.js';
import { Params } from './params.js';
import { MultiScaleQuantizer } from './quantizer.js';

export interface VQVAELoadOptions {
  /** Token-map side per scale, e.g. [1, 2, 3, 4, 5, 6, 8, 10, 13, 16] for the released 256² models. */
  patchNums: readonly number[];
  /** Named in errors. */
  file?: string;
  /**
   * false: build without the encoder (only encoding, i.e. editing and reconstruction, runs it), so that its weights
   * (~168 MiB of the released VQ-VAE's 416) can be freed; encode then throws a UsageError. Default true.
   */
  encoder?: boolean;
}

function checkPatchNums(patchNums: readonly number[]): void {
  if (!Array.isArray(patchNums) || patchNums.length < 2 || patchNums.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new UsageError(`patchNums must list at least 2 positive integers, got [${patchNums}]`);
  }
}

export class VQVAE {
  private constructor(
    readonly config: VQVAEConfig,
    readonly patchNums: readonly number[],
    readonly quantizer: MultiScaleQuantizer,
    private readonly encoder: Encoder | null,
    private readonly decoder: Decoder,
    private readonly quantConv: Conv2d,
    private readonly postQuantConv: Conv2d,
  ) {}

  static fromStateDict(sd: Map<string, Tensor>, opts: VQVAELoadOptions): VQVAE {
    const file = opts.file ?? '<state dict>';
    checkPatchNums(opts.patchNums);
    const config = inferVQVAEConfig(sd, file);
    validateVQVAEStateDict(sd, config, file);
    if (config.numScales !== opts.patchNums.length) {
      throw new WeightsError(
        file,
        `quantize.ema_vocab_hit_SV says the VQ-VAE was built for ${config.numScales} scales, but patchNums [${opts.patchNums.join(', ')}] has ${opts.patchNums.length}`,
      );
    }
    const patchNums = [...opts.patchNums];
    const root = new Params(sd, file);
    return new VQVAE(
      config,
      patchNums,
      new MultiScaleQuantizer(root.scope('quantize'), config, patchNums),
      opts.encoder === false ? null : new Encoder(root.scope('encoder'), config),
      new Decoder(root.scope('decoder'), config),
      conv3x3(root.scope('quant_conv')),
      conv3x3(root.scope('post_quant_conv')),
    );
  }

  /** Image side over latent side: 2^(levels−1). */
  get downsampleRatio(): number {
    return 2 ** (this.config.chMult.length - 1);
  }

  /** The image side this schedule encodes and decodes: the last scale's side times the down-sampling ratio. */
  get imageSize(): number {
    return this.patchNums[this.patchNums.length - 1] * this.downsampleRatio;
  }

  /** `quant_conv(encoder(images))` for images (B, 3, S, S) in [−1, 1]: the latent f (B, Cvae, pn, pn). */
  async encodeFeatures(images: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    if (!this.encoder) {
      throw new UsageError(
        'this model was loaded without the VQ-VAE encoder (encoder: false), so it cannot encode images; load it with the encoder to edit or reconstruct',
      );
    }
    this.checkImages(images);
    const h = await this.encoder.forward(images, run);
    return emit(run, 'quant_conv', await this.quantConv.forward(h));
  }

  /** Token maps per scale (VAR's img_to_idxBl), each B·pn² row-major. */
  async encode(images: Tensor, run: VQVAERunOptions): Promise<Int32Array[]> {
    return this.quantizer.encodeFeatures(await this.encodeFeatures(images, run));
  }

  /** VAR's img_to_reconstructed_img(last_one=True): encode, quantize all scales, decode; in [−1, 1]. */
  async reconstruct(images: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    const fhats = await this.quantizer.fhatFromFeatures(await this.encodeFeatures(images, run));
    return this.fhatToImage(fhats[fhats.length - 1], run);
  }

  /** f_hat (B, Cvae, pn, pn) after every scale of a token pyramid. */
  tokensToFhat(tokens: readonly Int32Array[]): Promise<Tensor> {
    return this.quantizer.idxToFhat(tokens, this.batchOf(tokens));
  }

  /** `clamp(decoder(post_quant_conv(f_hat)), −1, 1)`. */
  async fhatToImage(fHat: Tensor, run: VQVAERunOptions): Promise<Tensor> {
    const z = emit(run, 'post_quant_conv', await this.postQuantConv.forward(fHat));
    const raw = await this.decoder.forward(z, run);
    run.onRawImage?.(raw);
    return clamp(raw, -1, 1);
  }

  /** Token pyramid → images (B, 3, S, S) in [0, 1], as VAR's autoregressive_infer_cfg returns them. */
  async decode(tokens: readonly Int32Array[], run: VQVAERunOptions): Promise<Tensor> {
    const img = await this.fhatToImage(await this.tokensToFhat(tokens), run);
    const out = new Float32Array(img.data.length);
    for (let i = 0; i < out.length; i++) out[i] = (img.data[i] + 1) * 0.5;
    return new Tensor(img.shape, out);
  }

  /** Batch size of a token pyramid, from the first scale. */
  private batchOf(tokens: readonly Int32Array[]): number {
    if (!tokens.length) throw new InputError('no token maps given');
    const n0 = this.patchNums[0] ** 2;
    const B = tokens[0].length / n0;
    if (!Number.isInteger(B) || B < 1)
      throw new InputError(`first token map has ${tokens[0].length} entries, not a multiple of pn0² = ${n0}`);
    return B;
  }

  private checkImages(images: Tensor): void {
    const s = images.shape;
    const S = this.imageSize;
    if (s.length !== 4 || s[1] !== this.config.inChannels || s[2] !== S || s[3] !== S) {
      throw new InputError(
        `images must be (B, ${this.config.inChannels}, ${S}, ${S}) for patchNums ending in ${this.patchNums.at(-1)}, got (${s.join(', ')})`,
      );
    }
    const bad = images.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new InputError(`images contain a non-finite value (${images.data[bad]}) at flat index ${bad}`);
  }
}
