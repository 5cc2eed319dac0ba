/**
 * The checkpoint's tensors gathered into typed fields once at load time, so the forward code reads
 * `block.qkvWeight` rather than string keys, and derived constants (the qkv bias with its zero k part,
 * the clamped per-head q scale) are computed once.
 */
import { asTensor, Tensor } from '../../tensor.js';
import { isAdaLNWeightKey } from './adaln-weights.js';
import type { VARConfig } from './config.js';
import { stateDictLabel, requireTensor, type StateDictLike } from './state-dict.js';

export interface VARBlockWeights {
  /** Per-block AdaLN: Linear(D, 6C) on SiLU(cond). Absent with shared AdaLN. */
  adaLinWeight?: Tensor;
  adaLinBias?: Tensor;
  /** Shared AdaLN: this block's learned offset (6·C values) added to shared_ada_lin(cond). */
  adaGss?: Float32Array;
  qkvWeight: Tensor;
  /** cat(q_bias, zero_k_bias, v_bias). */
  qkvBias: Tensor;
  /** exp(min(scale_mul_1H11, ln 100)) per head (l2-norm attention only). */
  qScale?: Float32Array;
  projWeight: Tensor;
  projBias: Tensor;
  fc1Weight: Tensor;
  fc1Bias: Tensor;
  fc2Weight: Tensor;
  fc2Bias: Tensor;
}

export interface VARWeights {
  posStart: Tensor;
  pos1LC: Tensor;
  wordEmbedWeight: Tensor;
  wordEmbedBias: Tensor;
  classEmb: Tensor;
  lvlEmbed: Tensor;
  sharedAdaLinWeight?: Tensor;
  sharedAdaLinBias?: Tensor;
  blocks: VARBlockWeights[];
  headNmWeight: Tensor;
  headNmBias: Tensor;
  headWeight: Tensor;
  headBias: Tensor;
}

/** torch computes `torch.log(torch.tensor(100)).item()` in float32, then clamps and exponentiates in float32. */
const MAX_SCALE_MUL = Math.fround(Math.log(100));

/** exp(min(s, ln 100)) as VAR computes it; also the static logit bound β of an l2-normalised head. */
export function clampedScaleMul(s: number): number {
  return Math.fround(Math.exp(Math.min(Math.fround(s), MAX_SCALE_MUL)));
}

export function collectVARWeights(sd: StateDictLike, config: VARConfig): VARWeights {
  const file = stateDictLabel(sd, 'VAR state dict');
  // the AdaLN weights of a dict with adaLNSource hold their shapes only: they are read from the file at each use
  const get = (key: string) =>
    sd.adaLNSource && isAdaLNWeightKey(key)
      ? (requireTensor(sd, key, file) as Tensor)
      : asTensor(requireTensor(sd, key, file), key);
  const blocks: VARBlockWeights[] = [];
  for (let i = 0; i < config.depth; i++) {
    const p = `blocks.${i}.`;
    const qBias = get(`${p}attn.q_bias`).data;
    const kBias = get(`${p}attn.zero_k_bias`).data;
    const vBias = get(`${p}attn.v_bias`).data;
    const qkvBias = new Float32Array(3 * config.embedDim);
    qkvBias.set(qBias, 0);
    qkvBias.set(kBias, config.embedDim);
    qkvBias.set(vBias, 2 * config.embedDim);
    blocks.push({
      ...(config.sharedAdaLN
        ? { adaGss: get(`${p}ada_gss`).data }
        : { adaLinWeight: get(`${p}ada_lin.1.weight`), adaLinBias: get(`${p}ada_lin.1.bias`) }),
      qkvWeight: get(`${p}attn.mat_qkv.weight`),
      qkvBias: new Tensor([3 * config.embedDim], qkvBias),
      ...(config.attnL2Norm ? { qScale: get(`${p}attn.scale_mul_1H11`).data.map(clampedScaleMul) } : {}),
      projWeight: get(`${p}attn.proj.weight`),
      projBias: get(`${p}attn.proj.bias`),
      fc1Weight: get(`${p}ffn.fc1.weight`),
      fc1Bias: get(`${p}ffn.fc1.bias`),
      fc2Weight: get(`${p}ffn.fc2.weight`),
      fc2Bias: get(`${p}ffn.fc2.bias`),
    });
  }
  return {
    posStart: get('pos_start'),
    pos1LC: get('pos_1LC'),
    wordEmbedWeight: get('word_embed.weight'),
    wordEmbedBias: get('word_embed.bias'),
    classEmb: get('class_emb.weight'),
    lvlEmbed: get('lvl_embed.weight'),
    ...(config.sharedAdaLN
      ? { sharedAdaLinWeight: get('shared_ada_lin.1.weight'), sharedAdaLinBias: get('shared_ada_lin.1.bias') }
      : {}),
    blocks,
    headNmWeight: get('head_nm.ada_lin.1.weight'),
    headNmBias: get('head_nm.ada_lin.1.bias'),
    headWeight: get('head.weight'),
    headBias: get('head.bias'),
  };
}
