/** Shared by the VQ-VAE tests only (not exported from the package). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AttentionRouter } from '../../attention/router.js';
import { AttentionTrace } from '../../attention/trace.js';
import { Rng } from '../../random.js';
import { Tensor } from '../../tensor.js';
import { createExactTestRegistry } from '../../testing/exact-test-backend.js';
import type { VQVAEConfig } from './config.js';
import { vqvaeStateDictShapes } from './config.js';
import type { VQVAERunOptions } from './context.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/var-tiny/', import.meta.url));
export const fixture = (name: string): string => FIXTURES + name;

export interface FixtureConfig {
  patch_nums: number[];
  image_size: number;
  vae: {
    vocab_size: number;
    Cvae: number;
    z_channels: number;
    ch: number;
    ch_mult: number[];
    num_res_blocks: number;
    using_sa: boolean;
    using_mid_sa: boolean;
    share_quant_resi: number;
    quant_resi: number;
    phi_index_per_scale: number[];
    phi_ticks: number[];
  };
  state_dict_shapes: { vae: Record<string, number[]> };
}

export const CONFIG = JSON.parse(readFileSync(fixture('config.json'), 'utf8')) as FixtureConfig;

export interface RefsIndex {
  tensors: Record<string, { shape: number[]; dtype: string; desc: string }>;
  skipped: unknown[];
  info: Record<string, unknown>;
}
export const REFS_INDEX = JSON.parse(readFileSync(fixture('refs.json'), 'utf8')) as RefsIndex;

/** A router over the exact float64 test backend, with a fresh trace. */
export async function exactRun(): Promise<VQVAERunOptions> {
  return { router: await AttentionRouter.create({ registry: createExactTestRegistry() }), trace: new AttentionTrace() };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN must fail a tolerance check, so it becomes +Infinity.
    m = Math.max(m, Number.isNaN(d) ? Infinity : d);
  }
  return m;
}

/** Batch element b of an (B, …) tensor as (1, …). */
export function batchItem(t: Tensor, b: number): Tensor {
  const per = t.data.length / t.shape[0]!;
  return new Tensor([1, ...t.shape.slice(1)], t.data.slice(b * per, (b + 1) * per));
}

/**
 * A random state dict with the key set and shapes of `cfg`. Conv weights get std 1/√fan_in (PyTorch-like
 * scale, so activations stay O(1)), GroupNorms the identity, biases small noise.
 */
export function randomVQVAEStateDict(cfg: VQVAEConfig, seed = 1): Map<string, Tensor> {
  const rng = new Rng(seed);
  const sd = new Map<string, Tensor>();
  for (const [key, shape] of vqvaeStateDictShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (key === 'quantize.ema_vocab_hit_SV') data = new Float32Array(n);
    else if (key === 'quantize.embedding.weight') data = rng.normalArray(n, 0.5);
    else if (/norm(1|2|_out)?\.weight$/.test(key)) data = new Float32Array(n).fill(1);
    else if (key.endsWith('.bias')) data = rng.normalArray(n, 0.01);
    else data = rng.normalArray(n, 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)));
    sd.set(key, new Tensor(shape, data));
  }
  return sd;
}
