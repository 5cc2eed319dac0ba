/** Shared by the VAR and pipeline tests and the model-parity suite (testing/model-parity.ts). */
import { readFileSync } from 'node:fs';
import { AttentionRouter } from '../../attention/router.js';
import { AttentionTrace } from '../../attention/trace.js';
import { Tensor } from '../../tensor.js';
import { createExactTestRegistry } from '../../testing/exact-test-backend.js';
import { VAR_TINY_DIR } from '../../testing/var-tiny.js';
import { loadStateDict } from '../../weights/index.js';
import type { VARRunContext } from './var-transformer.js';

export const FIXTURES = VAR_TINY_DIR;
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
    const d = Math.abs(a[i] - b[i]);
    m = Math.max(m, Number.isNaN(d) ? Infinity : d); // NaN must fail a tolerance
  }
  return m;
}

export { concatTokens } from '../../testing/conformance.js';

/** Tokens [t0, t1) of every row of an (N, T, V) tensor, for rows [r0, r1). */
export function sliceRows(t: Tensor, r0: number, r1: number, t0: number, t1: number): Float32Array {
  const [, T, V] = t.shape as [number, number, number];
  const out = new Float32Array((r1 - r0) * (t1 - t0) * V);
  for (let r = r0; r < r1; r++) out.set(t.data.subarray((r * T + t0) * V, (r * T + t1) * V), (r - r0) * (t1 - t0) * V);
  return out;
}

// The random state dicts are public now (models/random-weights.ts); re-exported for the existing tests.
import type { RandomVARSpec } from '../random-weights.js';
export { randomVARStateDict, type RandomVARSpec } from '../random-weights.js';

/** A model of another shape than the fixture: shared AdaLN, plain (non-l2) attention, the 7-scale schedule. */
export const SHARED_ADALN_PLAIN_ATTN_SPEC: RandomVARSpec = {
  depth: 3,
  C: 48,
  heads: 4,
  cvae: 8,
  vocab: 64,
  numClasses: 5,
  mlpHidden: 192,
  patchNums: [1, 2, 3, 4, 5, 6, 8],
  sharedAdaLN: true,
  l2Norm: false,
};
