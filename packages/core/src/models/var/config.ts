/**
 * The VAR transformer's hyper-parameters, read from the checkpoint's tensor shapes wherever they are
 * determined by them (docs/var-port.md §4.4, §7.2), and from options where they are not (the head
 * count of non-l2 attention, the patch schedule of non-released models).
 */
import { UsageError, WeightsError } from '../../errors.js';
import {
  assertPatchNums,
  patchNumsFromLevels,
  RELEASED_256_PATCH_NUMS,
  tokenCount,
  tokenLevels,
} from './patch-schedule.js';
import { listNames, stateDictLabel, type StateDictLike } from './state-dict.js';

export interface VARConfig {
  depth: number;
  /** C (= D, the condition width). */
  embedDim: number;
  numHeads: number;
  headDim: number;
  vocabSize: number;
  /** Channels of the VQ-VAE latent (word_embed's input width). */
  cvae: number;
  /** class_emb has numClasses + 1 rows; label numClasses is the unconditional (null) class. */
  numClasses: number;
  mlpHidden: number;
  /** shared_ada_lin + per-block ada_gss instead of per-block ada_lin. */
  sharedAdaLN: boolean;
  /** q/k l2-normalised with a learned per-head scale (all released models). */
  attnL2Norm: boolean;
  patchNums: number[];
  /** Where patchNums came from. */
  patchNumsSource: 'option' | 'metadata' | 'lvl_1L' | 'released-256';
  /** L = Σ pn². */
  tokenCount: number;
  /** pn[0]², the tokens predicted from the class embedding alone. */
  firstL: number;
  /** LayerNorm eps (VAR's norm_eps). */
  normEps: number;
  /** Softmax scale τ: 1 with l2-normalised heads, else 0.25/√hd. */
  attnScale: number;
}

export interface VARConfigOptions {
  patchNums?: readonly number[];
  /** Required when attention is not l2-normalised (the head count is then not in the weights). */
  numHeads?: number;
}

const NORM_EPS = 1e-6;

/** Keys whose shapes define the model; without them the file is not a VAR transformer. */
const ANCHORS: Record<string, number> = {
  'word_embed.weight': 2,
  'class_emb.weight': 2,
  'head.weight': 2,
  pos_1LC: 3,
  'lvl_embed.weight': 2,
  'blocks.0.ffn.fc1.weight': 2,
};

export function inferVARConfig(sd: StateDictLike, options: VARConfigOptions = {}): VARConfig {
  const file = stateDictLabel(sd, 'VAR state dict');
  const shapeOf = (key: string) => sd.tensors.get(key)?.shape;

  const missing = Object.keys(ANCHORS).filter((k) => !sd.tensors.has(k));
  if (missing.length) {
    const hint = sd.tensors.has('quantize.embedding.weight') ? ' (this looks like the VQ-VAE checkpoint)' : '';
    throw new WeightsError(file, `not a VAR transformer checkpoint${hint}: missing ${listNames(missing)}`);
  }
  for (const [key, rank] of Object.entries(ANCHORS)) {
    if (shapeOf(key)!.length !== rank)
      throw new WeightsError(file, `${key} must have rank ${rank}, got shape [${shapeOf(key)!.join(', ')}]`);
  }

  const [C, cvae] = shapeOf('word_embed.weight') as [number, number];
  const numClasses = shapeOf('class_emb.weight')![0] - 1;
  const vocabSize = shapeOf('head.weight')![0];
  const L = shapeOf('pos_1LC')![1];
  const numScales = shapeOf('lvl_embed.weight')![0];
  const mlpHidden = shapeOf('blocks.0.ffn.fc1.weight')![0];
  if (numClasses < 1)
    throw new WeightsError(file, `class_emb.weight has ${numClasses + 1} rows; it needs num_classes + 1 ≥ 2`);

  let depth = 0;
  for (const key of sd.tensors.keys()) {
    const m = /^blocks\.(\d+)\./.exec(key);
    if (m) depth = Math.max(depth, Number(m[1]) + 1);
  }

  const attnL2Norm = sd.tensors.has('blocks.0.attn.scale_mul_1H11');
  const sharedAdaLN = sd.tensors.has('shared_ada_lin.1.weight') || sd.tensors.has('blocks.0.ada_gss');
  const numHeads = resolveHeads(sd, file, C, attnL2Norm, options.numHeads);
  const headDim = C / numHeads;

  const patchNums = resolvePatchNums(sd, file, L, options.patchNums);
  if (patchNums.value.length !== numScales) {
    const problem = `lvl_embed.weight has ${numScales} rows but the patch schedule [${patchNums.value.join(', ')}] has ${patchNums.value.length} scales`;
    // A schedule the caller passed is a usage error; one the file claims for itself is a weights error.
    throw patchNums.source === 'option' ? new UsageError(`${file}: ${problem}`) : new WeightsError(file, problem);
  }
  checkLevels(sd, file, patchNums.value, patchNums.source);

  return {
    depth,
    embedDim: C,
    numHeads,
    headDim,
    vocabSize,
    cvae,
    numClasses,
    mlpHidden,
    sharedAdaLN,
    attnL2Norm,
    patchNums: patchNums.value,
    patchNumsSource: patchNums.source,
    tokenCount: L,
    firstL: patchNums.value[0] ** 2,
    normEps: NORM_EPS,
    attnScale: attnL2Norm ? 1 : 0.25 / Math.sqrt(headDim),
  };
}

function resolveHeads(sd: StateDictLike, file: string, C: number, l2: boolean, option: number | undefined): number {
  if (option !== undefined && (!Number.isInteger(option) || option <= 0)) {
    throw new UsageError(`numHeads must be a positive integer, got ${option}`);
  }
  let heads: number;
  if (l2) {
    const shape = sd.tensors.get('blocks.0.attn.scale_mul_1H11')!.shape;
    if (shape.length !== 4)
      throw new WeightsError(
        file,
        `blocks.0.attn.scale_mul_1H11 must have shape [1, H, 1, 1], got [${shape.join(', ')}]`,
      );
    heads = shape[1];
    if (option !== undefined && option !== heads) {
      throw new UsageError(
        `numHeads is ${option} but ${file} has ${heads} heads (blocks.0.attn.scale_mul_1H11 is [${shape.join(', ')}])`,
      );
    }
  } else {
    if (option === undefined) {
      throw new UsageError(
        `${file} has no attn.scale_mul_1H11 (its attention is not l2-normalised), so its head count is not in the weights: pass the numHeads option`,
      );
    }
    heads = option;
  }
  if (C % heads !== 0) {
    const msg = `embed dim ${C} is not divisible by ${heads} heads`;
    throw l2 ? new WeightsError(file, msg) : new UsageError(`numHeads: ${msg}`);
  }
  return heads;
}

/** A `patch_nums` / `patchNums` JSON array in the safetensors metadata, if present. */
export function patchNumsFromMetadata(
  metadata: Readonly<Record<string, string>> | undefined,
  file = 'weights',
): number[] | undefined {
  const raw = metadata?.patch_nums ?? metadata?.patchNums;
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new WeightsError(file, `metadata patch_nums is not JSON: ${raw.slice(0, 80)}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new WeightsError(
      file,
      `metadata patch_nums must be a JSON array of positive integers, got ${raw.slice(0, 80)}`,
    );
  }
  return parsed as number[];
}

function resolvePatchNums(
  sd: StateDictLike,
  file: string,
  L: number,
  option: readonly number[] | undefined,
): { value: number[]; source: VARConfig['patchNumsSource'] } {
  if (option !== undefined) {
    assertPatchNums(option);
    if (tokenCount(option) !== L) {
      throw new UsageError(
        `patchNums [${option.join(', ')}] give ${tokenCount(option)} tokens but ${file} has L = ${L} (pos_1LC)`,
      );
    }
    return { value: [...option], source: 'option' };
  }
  const fromMeta = patchNumsFromMetadata(sd.metadata, file);
  if (fromMeta) {
    if (tokenCount(fromMeta) !== L) {
      throw new WeightsError(
        file,
        `metadata patch_nums [${fromMeta.join(', ')}] give ${tokenCount(fromMeta)} tokens but pos_1LC has L = ${L}`,
      );
    }
    return { value: fromMeta, source: 'metadata' };
  }
  // Every official checkpoint stores the scale of each token in lvl_1L, which encodes the schedule exactly.
  const levels = sd.tensors.get('lvl_1L');
  const fromLevels = levels ? patchNumsFromLevels(levels.data) : undefined;
  if (fromLevels && tokenCount(fromLevels) === L) return { value: fromLevels, source: 'lvl_1L' };
  if (L === tokenCount(RELEASED_256_PATCH_NUMS)) return { value: [...RELEASED_256_PATCH_NUMS], source: 'released-256' };
  throw new UsageError(
    `cannot tell the patch schedule of ${file} (L = ${L} tokens, no patch_nums metadata, no usable lvl_1L buffer, not the released 256-px schedule's 680): pass the patchNums option`,
  );
}

/** lvl_1L records the scale of every token, so it catches a schedule with the right L but wrong scales. */
function checkLevels(
  sd: StateDictLike,
  file: string,
  patchNums: readonly number[],
  source: VARConfig['patchNumsSource'],
): void {
  const levels = sd.tensors.get('lvl_1L');
  if (!levels || levels.data.length !== tokenCount(patchNums)) return; // the key/shape check reports these
  const expected = tokenLevels(patchNums);
  for (let i = 0; i < expected.length; i++) {
    if (levels.data[i] !== expected[i]) {
      const found = patchNumsFromLevels(levels.data);
      const msg =
        `patch schedule [${patchNums.join(', ')}] (from ${source}) disagrees with the lvl_1L buffer at token ${i}` +
        (found ? `; the checkpoint was trained with [${found.join(', ')}]` : '');
      throw source === 'option'
        ? new UsageError(`${file}: ${msg}`)
        : new WeightsError(file, `${msg}; pass the patchNums option`);
    }
  }
}

/** Every state-dict entry a VAR of this config has (buffers included), with its shape, in state_dict order. */
export function expectedVARShapes(c: VARConfig): Map<string, number[]> {
  const C = c.embedDim;
  const L = c.tokenCount;
  const m = new Map<string, number[]>([
    ['pos_start', [1, c.firstL, C]],
    ['pos_1LC', [1, L, C]],
    ['lvl_1L', [1, L]],
    ['attn_bias_for_masking', [1, 1, L, L]],
    ['word_embed.weight', [C, c.cvae]],
    ['word_embed.bias', [C]],
    ['class_emb.weight', [c.numClasses + 1, C]],
    ['lvl_embed.weight', [c.patchNums.length, C]],
  ]);
  if (c.sharedAdaLN) {
    m.set('shared_ada_lin.1.weight', [6 * C, C]);
    m.set('shared_ada_lin.1.bias', [6 * C]);
  }
  for (let i = 0; i < c.depth; i++) {
    const p = `blocks.${i}.`;
    if (c.sharedAdaLN) m.set(`${p}ada_gss`, [1, 1, 6, C]);
    if (c.attnL2Norm) m.set(`${p}attn.scale_mul_1H11`, [1, c.numHeads, 1, 1]);
    m.set(`${p}attn.q_bias`, [C]);
    m.set(`${p}attn.v_bias`, [C]);
    m.set(`${p}attn.zero_k_bias`, [C]);
    m.set(`${p}attn.mat_qkv.weight`, [3 * C, C]);
    m.set(`${p}attn.proj.weight`, [C, C]);
    m.set(`${p}attn.proj.bias`, [C]);
    m.set(`${p}ffn.fc1.weight`, [c.mlpHidden, C]);
    m.set(`${p}ffn.fc1.bias`, [c.mlpHidden]);
    m.set(`${p}ffn.fc2.weight`, [C, c.mlpHidden]);
    m.set(`${p}ffn.fc2.bias`, [C]);
    if (!c.sharedAdaLN) {
      m.set(`${p}ada_lin.1.weight`, [6 * C, C]);
      m.set(`${p}ada_lin.1.bias`, [6 * C]);
    }
  }
  m.set('head_nm.ada_lin.1.weight', [2 * C, C]);
  m.set('head_nm.ada_lin.1.bias', [2 * C]);
  m.set('head.weight', [c.vocabSize, C]);
  m.set('head.bias', [c.vocabSize]);
  return m;
}

/** Strict loading: exactly the expected keys, each with its expected shape. */
export function checkVARStateDict(sd: StateDictLike, config: VARConfig): void {
  const file = stateDictLabel(sd, 'VAR state dict');
  const expected = expectedVARShapes(config);
  const missing = [...expected.keys()].filter((k) => !sd.tensors.has(k));
  const unexpected = [...sd.tensors.keys()].filter((k) => !expected.has(k));
  if (missing.length || unexpected.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${listNames(missing)}`);
    if (unexpected.length) parts.push(`unexpected ${listNames(unexpected)}`);
    throw new WeightsError(
      file,
      `state dict does not match the inferred VAR (${describeVAR(config)}): ${parts.join('; ')}`,
    );
  }
  const wrong: string[] = [];
  for (const [key, shape] of expected) {
    const got = sd.tensors.get(key)!.shape;
    if (got.length !== shape.length || got.some((s, i) => s !== shape[i]))
      wrong.push(`${key}: expected [${shape.join(', ')}], got [${got.join(', ')}]`);
  }
  if (wrong.length)
    throw new WeightsError(
      file,
      `shape mismatch for the inferred VAR (${describeVAR(config)}): ${listNames(wrong, 8)}`,
    );
}

export function describeVAR(c: VARConfig): string {
  return (
    `depth ${c.depth}, C ${c.embedDim}, ${c.numHeads} heads, V ${c.vocabSize}, Cvae ${c.cvae}, ${c.numClasses} classes, ` +
    `mlp ${c.mlpHidden}, ${c.sharedAdaLN ? 'shared' : 'per-block'} AdaLN, ${c.attnL2Norm ? 'l2-norm' : 'scaled dot-product'} attention, ` +
    `patchNums [${c.patchNums.join(', ')}]`
  );
}
