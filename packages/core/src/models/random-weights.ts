/**
 * Randomly initialised VAR and VQ-VAE state dicts with the official keys, shapes and key order
 * (docs/var-port.md §7), for tests, benchmarks and memory checks at released sizes.
 * Every tensor has its own random stream (seeded from the seed and the key), so a tensor's values do not
 * depend on which other tensors were produced before it, and the lazy entries can be written one at a time
 * (`writeSafetensors(path, randomVARStateDictEntries(spec))` never holds the whole model).
 */
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { RELEASED_256_PATCH_NUMS, RELEASED_512_PATCH_NUMS } from './var/patch-schedule.js';
import { vqvaeStateDictShapes, type VQVAEConfig } from './vqvae/config.js';

export interface RandomVARSpec {
  depth: number;
  /** Embedding width C. */
  C: number;
  heads: number;
  /** VQ-VAE latent channels (word_embed's input width). */
  cvae: number;
  vocab: number;
  numClasses: number;
  mlpHidden: number;
  patchNums: readonly number[];
  sharedAdaLN: boolean;
  l2Norm: boolean;
  /**
   * `scale_mul_1H11` of every block (l2-norm attention only): one value for every head, or one per head.
   * Default: random N(0, 0.5²) with `init: 'test'`, ln 4 with `init: 'var'`.
   */
  scaleMul?: number | readonly number[];
  /**
   * 'test' (default): O(1) activations with the AdaLN gates far from 0, so every block visibly changes its
   * input. 'var': VAR's own initialisation (§2.5: trunc-normal std √(1/(3C)), head ×0.02, gates ×1e-5, …).
   */
  init?: 'test' | 'var';
}

/** One lazily produced tensor; `data()` allocates a fresh array on every call. */
export interface RandomStateDictEntry {
  name: string;
  /** The dtype of the official checkpoint ('I64' for `lvl_1L`); `data()` always returns float32 values. */
  dtype: 'F32' | 'I64';
  shape: readonly number[];
  /** A registered buffer (not counted as a parameter by PyTorch's `numel` over `parameters()`). */
  buffer: boolean;
  data: () => Float32Array;
}

export interface StateDictCounts {
  entries: number;
  /** Elements of non-buffer tensors (what the spec's parameter counts count). */
  parameters: number;
  /** Elements of buffers. */
  bufferElements: number;
  /** Bytes in the official dtypes (float32, int64 for `lvl_1L`). */
  bytes: number;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Counts computed from the shapes alone; no tensor data is produced. */
export function countStateDict(
  entries: Iterable<Pick<RandomStateDictEntry, 'dtype' | 'shape' | 'buffer'>>,
): StateDictCounts {
  const c: StateDictCounts = { entries: 0, parameters: 0, bufferElements: 0, bytes: 0 };
  for (const e of entries) {
    const n = numel(e.shape);
    c.entries++;
    if (e.buffer) c.bufferElements += n;
    else c.parameters += n;
    c.bytes += n * (e.dtype === 'I64' ? 8 : 4);
  }
  return c;
}

/** Materialises lazy entries as a state dict (float32 tensors, `lvl_1L` as exact float values). */
export function materializeStateDict(entries: Iterable<RandomStateDictEntry>): Map<string, Tensor> {
  const sd = new Map<string, Tensor>();
  for (const e of entries) sd.set(e.name, new Tensor([...e.shape], e.data()));
  return sd;
}

/** A 32-bit seed per (seed, key): FNV-1a over the key, mixed with the seed. */
function keySeed(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function normals(seed: number, key: string, n: number, std: number): Float32Array {
  return new Rng(keySeed(seed, key)).normalArray(n, std);
}

/** PyTorch's trunc_normal_(std, a = −2, b = 2): N(0, std²) resampled outside the absolute bounds ±2. */
function truncNormals(seed: number, key: string, n: number, std: number): Float32Array {
  const rng = new Rng(keySeed(seed, key));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x: number;
    do x = rng.normal() * std;
    while (x < -2 || x > 2);
    out[i] = x;
  }
  return out;
}

function tokenLevelsOf(patchNums: readonly number[]): Float32Array {
  return Float32Array.from(patchNums.flatMap((p, i) => new Array<number>(p * p).fill(i)));
}

function assertSpec(s: RandomVARSpec): void {
  const ints: (keyof RandomVARSpec)[] = ['depth', 'C', 'heads', 'cvae', 'vocab', 'numClasses', 'mlpHidden'];
  for (const k of ints) {
    const v = s[k];
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new RangeError(`RandomVARSpec.${k} must be a positive integer, got ${String(v)}`);
  }
  if (s.C % s.heads !== 0) throw new RangeError(`RandomVARSpec.C = ${s.C} is not divisible by heads = ${s.heads}`);
  if (!s.patchNums.length || s.patchNums.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new RangeError(`RandomVARSpec.patchNums must be positive integers, got ${JSON.stringify(s.patchNums)}`);
  }
  if (Array.isArray(s.scaleMul) && s.scaleMul.length !== s.heads) {
    throw new RangeError(`RandomVARSpec.scaleMul has ${s.scaleMul.length} values for ${s.heads} heads`);
  }
}

/**
 * The VAR state dict's entries in the official `state_dict()` order (§4.1), each producing its data
 * only when called. Nothing is allocated here beyond the key list.
 */
export function randomVARStateDictEntries(s: RandomVARSpec, seed = 7): RandomStateDictEntry[] {
  assertSpec(s);
  const C = s.C;
  const L = s.patchNums.reduce((a, p) => a + p * p, 0);
  const varInit = s.init === 'var';
  const std = Math.sqrt(1 / (3 * C)); // init_std = −1 → √(1/(3C))
  const out: RandomStateDictEntry[] = [];
  const add = (name: string, shape: number[], data: () => Float32Array, buffer = false, dtype: 'F32' | 'I64' = 'F32') =>
    out.push({ name, dtype, shape, buffer, data });
  const zeros = (name: string, shape: number[], buffer = false) =>
    add(name, shape, () => new Float32Array(numel(shape)), buffer);
  /** N(0, testStd²) with init 'test'; trunc_normal(std)·factor with init 'var' (factor may vary by row). */
  const rand = (name: string, shape: number[], testStd: number, varFactor: number | ((row: number) => number) = 1) =>
    add(name, shape, () => {
      if (!varInit) return normals(seed, name, numel(shape), testStd);
      const x = truncNormals(seed, name, numel(shape), std);
      if (typeof varFactor === 'number') {
        if (varFactor !== 1) for (let i = 0; i < x.length; i++) x[i] = x[i] * varFactor;
      } else {
        const cols = shape.length > 1 ? numel(shape.slice(1)) : 1;
        for (let i = 0; i < x.length; i++) x[i] = x[i] * varFactor(Math.floor(i / cols));
      }
      return x;
    });
  /** Biases: small noise with init 'test', 0 with init 'var'. */
  const bias = (name: string, shape: number[], testStd: number) =>
    varInit ? zeros(name, shape) : rand(name, shape, testStd);
  /** AdaLN gates: rows [0, 2C) are γ1, γ2 (×1e-5 at init), the rest scales and shifts (×0.5). */
  const adaGate = (row: number) => (row < 2 * C ? 1e-5 : 0.5);

  const levels = () => tokenLevelsOf(s.patchNums);
  rand('pos_start', [1, s.patchNums[0] ** 2, C], 0.3);
  rand('pos_1LC', [1, L, C], 0.3);
  add('lvl_1L', [1, L], levels, true, 'I64');
  add(
    'attn_bias_for_masking',
    [1, 1, L, L],
    () => {
      const lv = levels();
      const m = new Float32Array(L * L);
      for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) m[i * L + j] = lv[i] >= lv[j] ? 0 : -Infinity;
      return m;
    },
    true,
  );
  rand('word_embed.weight', [C, s.cvae], 1 / Math.sqrt(s.cvae));
  bias('word_embed.bias', [C], 0.1);
  rand('class_emb.weight', [s.numClasses + 1, C], 1);
  rand('lvl_embed.weight', [s.patchNums.length, C], 0.3);
  if (s.sharedAdaLN) {
    rand('shared_ada_lin.1.weight', [6 * C, C], 0.3 / Math.sqrt(C));
    bias('shared_ada_lin.1.bias', [6 * C], 0.2);
  }
  const residual = 1 / Math.sqrt(2 * s.depth);
  for (let i = 0; i < s.depth; i++) {
    const p = `blocks.${i}.`;
    if (s.sharedAdaLN) {
      const name = `${p}ada_gss`;
      // VAR: randn/√C, then the γ rows ×1e-5 and the rest ×0.5 (shape (1, 1, 6, C): row = chunk).
      add(name, [1, 1, 6, C], () => {
        if (!varInit) return normals(seed, name, 6 * C, 0.3);
        const x = normals(seed, name, 6 * C, 1 / Math.sqrt(C));
        for (let j = 0; j < x.length; j++) x[j] = x[j] * (j < 2 * C ? 1e-5 : 0.5);
        return x;
      });
    }
    if (s.l2Norm) {
      const name = `${p}attn.scale_mul_1H11`;
      const sm = s.scaleMul ?? (varInit ? Math.log(4) : undefined);
      if (sm === undefined) rand(name, [1, s.heads, 1, 1], 0.5);
      else
        add(name, [1, s.heads, 1, 1], () =>
          Float32Array.from({ length: s.heads }, (_, h) => (typeof sm === 'number' ? sm : sm[h])),
        );
    }
    bias(`${p}attn.q_bias`, [C], 0.1);
    bias(`${p}attn.v_bias`, [C], 0.1);
    zeros(`${p}attn.zero_k_bias`, [C], true);
    rand(`${p}attn.mat_qkv.weight`, [3 * C, C], 1 / Math.sqrt(C));
    rand(`${p}attn.proj.weight`, [C, C], 1 / Math.sqrt(C), residual);
    bias(`${p}attn.proj.bias`, [C], 0.1);
    rand(`${p}ffn.fc1.weight`, [s.mlpHidden, C], 1 / Math.sqrt(C));
    bias(`${p}ffn.fc1.bias`, [s.mlpHidden], 0.1);
    rand(`${p}ffn.fc2.weight`, [C, s.mlpHidden], 1 / Math.sqrt(s.mlpHidden), residual);
    bias(`${p}ffn.fc2.bias`, [C], 0.1);
    if (!s.sharedAdaLN) {
      rand(`${p}ada_lin.1.weight`, [6 * C, C], 0.3 / Math.sqrt(C), adaGate);
      bias(`${p}ada_lin.1.bias`, [6 * C], 0.2);
    }
  }
  rand('head_nm.ada_lin.1.weight', [2 * C, C], 0.3 / Math.sqrt(C), 0.5);
  bias('head_nm.ada_lin.1.bias', [2 * C], 0.2);
  rand('head.weight', [s.vocab, C], 1 / Math.sqrt(C), 0.02);
  bias('head.bias', [s.vocab], 0.1);
  return out;
}

/**
 * A random VAR state dict written from the spec's key list (docs/var-port.md §7.2, including the
 * shared-AdaLN variant), not from the loader's own expected-key table. With the default `init: 'test'`
 * the scales keep activations O(1) and the gates far from 0, so every block visibly changes its input.
 */
export function randomVARStateDict(s: RandomVARSpec, seed = 7): Map<string, Tensor> {
  return materializeStateDict(randomVARStateDictEntries(s, seed));
}

/**
 * The VQ-VAE's entries for `cfg` in the official order (vqvaeStateDictShapes), produced lazily. Conv
 * weights get std 1/√fan_in (PyTorch-like scale, so activations stay O(1)), GroupNorms the identity,
 * biases small noise, the codebook N(0, 0.5²), the `ema_vocab_hit_SV` buffer zeros.
 */
export function randomVQVAEStateDictEntries(cfg: VQVAEConfig, seed = 1): RandomStateDictEntry[] {
  return [...vqvaeStateDictShapes(cfg)].map(([name, shape]) => {
    const n = numel(shape);
    let data: () => Float32Array;
    if (name === 'quantize.ema_vocab_hit_SV') data = () => new Float32Array(n);
    else if (name === 'quantize.embedding.weight') data = () => normals(seed, name, n, 0.5);
    else if (/norm(1|2|_out)?\.weight$/.test(name)) data = () => new Float32Array(n).fill(1);
    else if (name.endsWith('.bias')) data = () => normals(seed, name, n, 0.01);
    else data = () => normals(seed, name, n, 1 / Math.sqrt(numel(shape.slice(1))));
    return { name, dtype: 'F32' as const, shape, buffer: name === 'quantize.ema_vocab_hit_SV', data };
  });
}

/** A random state dict with the key set and shapes of `cfg` (see randomVQVAEStateDictEntries). */
export function randomVQVAEStateDict(cfg: VQVAEConfig, seed = 1): Map<string, Tensor> {
  return materializeStateDict(randomVQVAEStateDictEntries(cfg, seed));
}

/**
 * The released VAR-d{depth} shapes (§2.3, §4.2): C = 64·depth, heads = depth (head dim 64), V = 4096,
 * Cvae = 32, 1000 classes, MLP 4C, the 256-px schedule (L = 680), per-block AdaLN, l2-norm attention,
 * and VAR's own initialisation (scale_mul = ln 4 for every head, gates ≈ 0). The one 512-px release, var_d36, has the
 * 512-px schedule (L = 2240) and shared AdaLN (2,353,893,904 parameters; the hub's catalogue states the same).
 */
export function releasedVARSpec(depth: number): RandomVARSpec {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`depth must be a positive integer, got ${depth}`);
  const C = 64 * depth;
  return {
    depth,
    C,
    heads: depth,
    cvae: 32,
    vocab: 4096,
    numClasses: 1000,
    mlpHidden: 4 * C,
    patchNums: [...(depth === 36 ? RELEASED_512_PATCH_NUMS : RELEASED_256_PATCH_NUMS)],
    sharedAdaLN: depth === 36,
    l2Norm: true,
    scaleMul: Math.log(4),
    init: 'var',
  };
}

/** The released `vae_ch160v4096z32` configuration (§2.1): 324 entries, 108,948,355 parameters. */
export function releasedVQVAEConfig(): VQVAEConfig {
  return {
    vocabSize: 4096,
    Cvae: 32,
    ch: 160,
    chMult: [1, 1, 2, 2, 4],
    numResBlocks: 2,
    usingSa: true,
    usingMidSa: true,
    shareQuantResi: 4,
    numPhi: 4,
    quantResi: 0.5,
    numScales: RELEASED_256_PATCH_NUMS.length,
    inChannels: 3,
  };
}
