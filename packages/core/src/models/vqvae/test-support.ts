/** Shared by the VQ-VAE tests and the model-parity suite (testing/model-parity.ts). */
import { readFileSync } from 'node:fs';
import { AttentionRouter } from '../../attention/router.js';
import { AttentionTrace } from '../../attention/trace.js';
import { Tensor } from '../../tensor.js';
import { createExactTestRegistry } from '../../testing/exact-test-backend.js';
import { VAR_TINY_DIR } from '../../testing/var-tiny.js';
import type { VQVAERunOptions } from './context.js';

export const FIXTURES = VAR_TINY_DIR;
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
    const d = Math.abs(a[i] - b[i]);
    // NaN must fail a tolerance check, so it becomes +Infinity.
    m = Math.max(m, Number.isNaN(d) ? Infinity : d);
  }
  return m;
}

/** Batch element b of an (B, …) tensor as (1, …). */
export function batchItem(t: Tensor, b: number): Tensor {
  const per = t.data.length / t.shape[0];
  return new Tensor([1, ...t.shape.slice(1)], t.data.slice(b * per, (b + 1) * per));
}

// The random state dicts are public now (models/random-weights.ts); re-exported for the existing tests.
export { randomVQVAEStateDict } from '../random-weights.js';
