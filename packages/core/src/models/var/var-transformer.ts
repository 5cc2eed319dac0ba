/**
 * The VAR transformer (docs/var-port.md §4): weights, config, conditioning, the block stack and
 * the head, plus teacher forcing. Next-scale inference is in autoregressive.ts and reuses these parts.
 */
import type { AttentionRouter } from '../../attention/router.js';
import type { AttentionTrace } from '../../attention/trace.js';
import { InputError } from '../../errors.js';
import { layerNorm, linear, silu } from '../../engines/calls.js';
import { asTensor, type Tensor, type TensorLike } from '../../tensor.js';
import { heldAdaLN, streamedAdaLN } from './adaln-weights.js';
import { blockModulation, headModulation, HEAD_SLOTS, modulateInPlace, sharedModulation } from './adaln.js';
import { runBlock, type AttendFn } from './block.js';
import { scopedEmitter, type CaptureFn } from './capture.js';
import { fusedBlock, type FusedBlockFn } from './fused-block.js';
import { checkVARStateDict, inferVARConfig, type VARConfig, type VARConfigOptions } from './config.js';
import {
  classCondition,
  firstScaleInput,
  levelPositions,
  nextScaleInput,
  teacherForcingInput,
} from './input-embedding.js';
import { validateLabels } from './labels.js';
import { scaleEnds } from './patch-schedule.js';
import { blockAttentionCall } from './self-attention.js';
import type { StateDictLike } from './state-dict.js';
import type { WeightsReader } from '../../weights/types.js';
import { collectVARWeights, type VARWeights } from './weights.js';

/** Attention routing for one run, and an optional capture of intermediate tensors. */
export interface VARRunContext {
  router: AttentionRouter;
  trace: AttentionTrace;
  capture?: CaptureFn;
}

/** Everything derived from the class labels, computed once per forward or generation. */
export interface Conditioning {
  /** class_emb[label] (N, C). */
  cond: Tensor;
  /** Per block (N, 6C): [gamma1, gamma2, scale1, scale2, shift1, shift2]. */
  blockModulations: Tensor[];
  /** head_nm's (N, 2C): [scale, shift]. */
  headModulation: Tensor;
}

export class VARTransformer {
  /** lvl_embed[lvl_1L] + pos_1LC (L, C). */
  readonly levelPositions: Float32Array;
  /** Cumulative token counts per scale (the block-causal mask). */
  readonly scaleEnds: readonly number[];

  private constructor(
    readonly config: VARConfig,
    readonly weights: VARWeights,
    /** The open checkpoint the AdaLN weights are read from at each generation, when they are not held (adaln-weights.ts). */
    private readonly adaLNSource?: WeightsReader,
  ) {
    this.levelPositions = levelPositions(weights, config);
    this.scaleEnds = scaleEnds(config.patchNums);
  }

  /** Infers the config from the tensor shapes, checks the key set strictly and gathers the weights. */
  static fromStateDict(sd: StateDictLike, options: VARConfigOptions = {}): VARTransformer {
    const config = inferVARConfig(sd, options);
    checkVARStateDict(sd, config);
    return new VARTransformer(config, collectVARWeights(sd, config), sd.adaLNSource);
  }

  /** Closes the checkpoint the AdaLN weights are read from, if any (the model is done). */
  close(): Promise<void> {
    return this.adaLNSource?.close() ?? Promise.resolve();
  }

  /** Every weight array of the transformer (what a dense engine may hold copies of: DenseEngine.forget). */
  weightArrays(): Float32Array[] {
    const { blocks, ...top } = this.weights;
    const values: (Tensor | Float32Array | undefined)[] = [...Object.values(top), ...blocks.flatMap(Object.values)];
    return values.flatMap((v) => (v === undefined ? [] : v instanceof Float32Array ? [v] : [v.data]));
  }

  labels(labels: readonly number[]): Int32Array {
    return validateLabels(labels, this.config.numClasses);
  }

  async condition(labels: Int32Array, capture?: CaptureFn): Promise<Conditioning> {
    const cond = classCondition(this.weights, labels);
    const condSilu = await silu(cond);
    const lin = this.adaLNSource ? await streamedAdaLN(this.adaLNSource) : heldAdaLN();
    const shared = this.config.sharedAdaLN ? await sharedModulation(this.weights, condSilu, lin) : undefined;
    capture?.('cond_BD_or_gss', (shared ?? cond).clone());
    const blockModulations: Tensor[] = [];
    for (const [i, b] of this.weights.blocks.entries())
      blockModulations.push(await blockModulation(b, i, condSilu, shared, lin));
    blockModulations.forEach((m, i) => capture?.(`block${i}.ada_lin`, m.clone()));
    return { cond, blockModulations, headModulation: await headModulation(this.weights, condSilu, lin) };
  }

  /**
   * Runs every block; `attendFor(i)` supplies block i's attention core, or `fused[i]` runs block i whole as one engine
   * call (fused-block.ts).
   */
  async runBlocks(
    x: Tensor,
    c: Conditioning,
    attendFor: (layer: number) => AttendFn,
    capture?: CaptureFn,
    suffix = '',
    fused?: readonly (FusedBlockFn | null)[],
  ): Promise<Tensor> {
    for (let i = 0; i < this.weights.blocks.length; i++) {
      const m = c.blockModulations[i];
      const whole = fused?.[i];
      x = whole
        ? await whole(x, m)
        : await runBlock(
            x,
            m,
            this.weights.blocks[i],
            this.config,
            attendFor(i),
            scopedEmitter(capture, `block${i}.`, suffix),
          );
    }
    return x;
  }

  /** head(head_nm(x, cond)): (N, T, C) → (N, T, V). */
  async logits(x: Tensor, c: Conditioning, capture?: CaptureFn, suffix = ''): Promise<Tensor> {
    const h = await layerNorm(x, this.config.normEps);
    modulateInPlace(h, c.headModulation, HEAD_SLOTS.scale, HEAD_SLOTS.shift);
    capture?.(`head_nm${suffix}`, h.clone());
    return linear(h, this.weights.headWeight, this.weights.headBias);
  }

  firstScaleInput(c: Conditioning): Tensor {
    return firstScaleInput(this.weights, this.config, this.levelPositions, c.cond);
  }

  nextScaleInput(nextMap: Tensor, start: number, copies: number): Promise<Tensor> {
    return nextScaleInput(this.weights, this.config, this.levelPositions, nextMap, start, copies);
  }

  /**
   * Teacher forcing (`VAR.forward` with cond_drop_rate 0): labels (B) and xBLCv (B, L − firstL, Cvae)
   * → logits (B, L, V), with one block-causal attention call per block.
   */
  async forward(labels: readonly number[], xBLCv: TensorLike, ctx: VARRunContext): Promise<Tensor> {
    const ids = this.labels(labels);
    const B = ids.length;
    const { tokenCount: L, firstL, cvae } = this.config;
    const x0 = asTensor(xBLCv, 'xBLCv');
    if (x0.shape.length !== 3 || x0.shape[0] !== B || x0.shape[1] !== L - firstL || x0.shape[2] !== cvae) {
      throw new InputError(
        `xBLCv must have shape [${B}, ${L - firstL}, ${cvae}] (B, L − first_l, Cvae), got [${x0.shape.join(', ')}]`,
      );
    }
    const c = await this.condition(ids, ctx.capture);
    const { x, wordEmbed } = await teacherForcingInput(this.weights, this.config, this.levelPositions, c.cond, x0);
    ctx.capture?.('word_embed', wordEmbed.clone());
    const spec = { scale: this.config.attnScale, mask: { kind: 'block-causal' as const, scaleEnds: this.scaleEnds } };
    const attendFor = (layer: number): AttendFn => {
      const call = blockAttentionCall(this.config, this.weights.blocks[layer], layer, B, this.scaleEnds);
      return (q, k, v) => ctx.router.attend(call, q, k, v, spec, ctx.trace);
    };
    // blocks whose attention the policy routes to exact CPU attention may run whole in the engine (not under a capture)
    const fused = this.weights.blocks.map((b, i) =>
      ctx.capture
        ? null
        : fusedBlock(ctx.router, ctx.trace, blockAttentionCall(this.config, b, i, B, this.scaleEnds), b, this.config, {
            scaleEnds: this.scaleEnds,
          }),
    );
    const h = await this.runBlocks(x, c, attendFor, ctx.capture, '', fused);
    const logits = await this.logits(h, c, ctx.capture);
    ctx.capture?.('logits', logits.clone());
    return logits;
  }
}
