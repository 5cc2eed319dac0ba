/** Shared by the VAR and pipeline tests only (not exported from the package). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AttentionRouter } from '../../attention/router.js';
import { AttentionTrace } from '../../attention/trace.js';
import { Rng } from '../../random.js';
import { Tensor } from '../../tensor.js';
import { createExactTestRegistry } from '../../testing/exact-test-backend.js';
import { loadStateDict } from '../../weights/index.js';
import type { VARRunContext } from './var-transformer.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/var-tiny/', import.meta.url));
export const fixture = (name: string): string => FIXTURES + name;

/** The tiny fixture's schedule: its files carry no patch_nums metadata and L = 30 ≠ 680. */
export const TINY_PATCH_NUMS = [1, 2, 3, 4];
export const VAR_FILES = ['var.safetensors', 'var.pth'] as const;

interface FixtureConfig {
  patch_nums: number[];
  image_size: number;
  var: {
    num_classes: number;
    depth: number;
    embed_dim: number;
    num_heads: number;
    head_dim: number;
    mlp_hidden: number;
    shared_aln: boolean;
    attn_l2_norm: boolean;
    norm_eps: number;
  };
  vae: { vocab_size: number; Cvae: number };
  state_dict_shapes: { var: Record<string, number[]> };
}
export const CONFIG = JSON.parse(readFileSync(fixture('config.json'), 'utf8')) as FixtureConfig;

interface RefsJson {
  tensors: Record<string, { shape: number[] }>;
  info: Record<string, unknown>;
}
export const REFS_JSON = JSON.parse(readFileSync(fixture('refs.json'), 'utf8')) as RefsJson;

let refsPromise: Promise<Map<string, Tensor>> | undefined;
/** A reference tensor from refs.safetensors (integers come back as exact float32 values). */
export async function ref(name: string): Promise<Tensor> {
  refsPromise ??= loadStateDict(fixture('refs.safetensors')).then((sd) => sd.tensors);
  const t = (await refsPromise).get(name);
  if (!t) throw new Error(`refs.safetensors has no ${name}`);
  return t;
}

export async function refIndices(name: string): Promise<Int32Array> {
  return Int32Array.from((await ref(name)).data);
}

/** A router over the exact float64 test backend, a fresh trace, and optionally a capture into `captured`. */
export async function exactContext(captured?: Map<string, Tensor>): Promise<VARRunContext> {
  return {
    router: await AttentionRouter.create({ registry: createExactTestRegistry() }),
    trace: new AttentionTrace(),
    ...(captured ? { capture: (name: string, t: Tensor) => void captured.set(name, t) } : {}),
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    m = Math.max(m, Number.isNaN(d) ? Infinity : d); // NaN must fail a tolerance
  }
  return m;
}

/** Concatenates (N, H, Ti, d) tensors along the token axis. */
export function concatTokens(parts: Tensor[]): Tensor {
  const [N, H, , d] = parts[0]!.shape as [number, number, number, number];
  const T = parts.reduce((s, p) => s + p.shape[2]!, 0);
  const out = new Tensor([N, H, T, d]);
  let off = 0;
  for (const p of parts) {
    const Ti = p.shape[2]!;
    for (let nh = 0; nh < N * H; nh++) out.data.set(p.data.subarray(nh * Ti * d, (nh + 1) * Ti * d), (nh * T + off) * d);
    off += Ti;
  }
  return out;
}

/** Tokens [t0, t1) of every row of an (N, T, V) tensor, for rows [r0, r1). */
export function sliceRows(t: Tensor, r0: number, r1: number, t0: number, t1: number): Float32Array {
  const [, T, V] = t.shape as [number, number, number];
  const out = new Float32Array((r1 - r0) * (t1 - t0) * V);
  for (let r = r0; r < r1; r++) out.set(t.data.subarray((r * T + t0) * V, (r * T + t1) * V), (r - r0) * (t1 - t0) * V);
  return out;
}

export interface RandomVARSpec {
  depth: number;
  C: number;
  heads: number;
  cvae: number;
  vocab: number;
  numClasses: number;
  mlpHidden: number;
  patchNums: number[];
  sharedAdaLN: boolean;
  l2Norm: boolean;
}

/**
 * A random VAR state dict written from the spec's key list (var-architecture.md §4.1, including the
 * shared-AdaLN variant), not from the loader's own expected-key table. Scales keep activations O(1)
 * and the gates far from 0, so every block visibly changes its input.
 */
export function randomVARStateDict(s: RandomVARSpec, seed = 7): Map<string, Tensor> {
  const rng = new Rng(seed);
  const C = s.C;
  const L = s.patchNums.reduce((a, p) => a + p * p, 0);
  const sd = new Map<string, Tensor>();
  const rand = (key: string, shape: number[], std: number) => sd.set(key, new Tensor(shape, rng.normalArray(shape.reduce((a, b) => a * b, 1), std)));
  const levels = s.patchNums.flatMap((p, i) => new Array<number>(p * p).fill(i));
  rand('pos_start', [1, s.patchNums[0]! ** 2, C], 0.3);
  rand('pos_1LC', [1, L, C], 0.3);
  sd.set('lvl_1L', new Tensor([1, L], Float32Array.from(levels)));
  sd.set('attn_bias_for_masking', new Tensor([1, 1, L, L], Float32Array.from({ length: L * L }, (_, i) => (levels[Math.floor(i / L)]! >= levels[i % L]! ? 0 : -Infinity))));
  rand('word_embed.weight', [C, s.cvae], 1 / Math.sqrt(s.cvae));
  rand('word_embed.bias', [C], 0.1);
  rand('class_emb.weight', [s.numClasses + 1, C], 1);
  rand('lvl_embed.weight', [s.patchNums.length, C], 0.3);
  if (s.sharedAdaLN) {
    rand('shared_ada_lin.1.weight', [6 * C, C], 0.3 / Math.sqrt(C));
    rand('shared_ada_lin.1.bias', [6 * C], 0.2);
  }
  for (let i = 0; i < s.depth; i++) {
    const p = `blocks.${i}.`;
    if (s.sharedAdaLN) rand(`${p}ada_gss`, [1, 1, 6, C], 0.3);
    if (s.l2Norm) rand(`${p}attn.scale_mul_1H11`, [1, s.heads, 1, 1], 0.5);
    rand(`${p}attn.q_bias`, [C], 0.1);
    rand(`${p}attn.v_bias`, [C], 0.1);
    sd.set(`${p}attn.zero_k_bias`, new Tensor([C]));
    rand(`${p}attn.mat_qkv.weight`, [3 * C, C], 1 / Math.sqrt(C));
    rand(`${p}attn.proj.weight`, [C, C], 1 / Math.sqrt(C));
    rand(`${p}attn.proj.bias`, [C], 0.1);
    rand(`${p}ffn.fc1.weight`, [s.mlpHidden, C], 1 / Math.sqrt(C));
    rand(`${p}ffn.fc1.bias`, [s.mlpHidden], 0.1);
    rand(`${p}ffn.fc2.weight`, [C, s.mlpHidden], 1 / Math.sqrt(s.mlpHidden));
    rand(`${p}ffn.fc2.bias`, [C], 0.1);
    if (!s.sharedAdaLN) {
      rand(`${p}ada_lin.1.weight`, [6 * C, C], 0.3 / Math.sqrt(C));
      rand(`${p}ada_lin.1.bias`, [6 * C], 0.2);
    }
  }
  rand('head_nm.ada_lin.1.weight', [2 * C, C], 0.3 / Math.sqrt(C));
  rand('head_nm.ada_lin.1.bias', [2 * C], 0.2);
  rand('head.weight', [s.vocab, C], 1 / Math.sqrt(C));
  rand('head.bias', [s.vocab], 0.1);
  return sd;
}
