/**
 * Attention backends side by side at VAR's shapes: L = 680 (256 px) and 2240 (512 px), head dim 64,
 * block-causal mask, both the one-shot call and the next-scale incremental state. Inputs are
 * l2-normalised with logit bound β (as in released checkpoints), so approximate backends are fed the
 * static bound they would get in a real generation.
 */
import { Rng, Tensor, type AttentionBackend, type AttentionInstance } from '@nextscale/core';
import { pyramidWork } from '@nextscale/core/attention';
import { scaleEnds } from '@nextscale/core/models';
import { timeMedian } from '@nextscale/bench-utils';

export interface BenchCase {
  L: number;
  patchNums: readonly number[];
  heads: number;
  headDim: number;
}

export interface BenchRow {
  backend: string;
  exact: boolean;
  L: number;
  heads: number;
  headDim: number;
  path: 'one-shot' | 'kv-state';
  seconds: number;
  /** Exact-attention FLOPs over the visible (query, key) pairs per second (effective for approximations). */
  gflops: number;
  runs: number;
  certifiedError?: number;
  skipped?: string;
}

/** Rows of unit length, the query rows scaled by β: |q·k| ≤ β exactly as with scale_mul = ln β. */
function l2Inputs(c: BenchCase, beta: number, seed: number) {
  const rng = new Rng(seed);
  const shape = [1, c.heads, c.L, c.headDim];
  const make = (scaleTo?: number) => {
    const t = new Tensor(shape);
    for (let r = 0; r < c.heads * c.L; r++) {
      let n = 0;
      for (let j = 0; j < c.headDim; j++) {
        const x = rng.normal();
        t.data[r * c.headDim + j] = x;
        n += x * x;
      }
      if (scaleTo !== undefined) {
        const f = scaleTo / Math.sqrt(n);
        for (let j = 0; j < c.headDim; j++) t.data[r * c.headDim + j] *= f;
      }
    }
    return t;
  };
  return { q: make(beta), k: make(1), v: make() };
}

/** Slice tokens [a, b) of a (1, H, L, d) tensor. */
function tokens(t: Tensor, a: number, b: number): Tensor {
  const [, H, L, d] = t.shape as [number, number, number, number];
  const out = new Tensor([1, H, b - a, d]);
  for (let h = 0; h < H; h++) out.data.set(t.data.subarray((h * L + a) * d, (h * L + b) * d), h * (b - a) * d);
  return out;
}

export async function benchBackend(
  backend: AttentionBackend,
  instance: AttentionInstance,
  c: BenchCase,
  o: { reps: number; beta: number; epsilon: number; signal?: AbortSignal },
): Promise<BenchRow[]> {
  const { q, k, v } = l2Inputs(c, o.beta, c.L);
  const se = scaleEnds(c.patchNums);
  const flops = 4 * pyramidWork(se) * c.headDim * c.heads;
  const rows: BenchRow[] = [];
  let cert: number | undefined;
  const oneShot = await timeMedian(
    async () => {
      const r = await instance.attend(q, k, v, {
        scale: 1,
        mask: { kind: 'block-causal', scaleEnds: se },
        logitBound: o.beta,
        epsilon: o.epsilon,
      });
      cert = r.certificate?.errBoundMax;
    },
    o.reps,
    o.signal,
  );
  rows.push({
    backend: backend.id,
    exact: backend.exact,
    L: c.L,
    heads: c.heads,
    headDim: c.headDim,
    path: 'one-shot',
    seconds: oneShot.median,
    gflops: flops / oneShot.median / 1e9,
    runs: oneShot.runs.length,
    certifiedError: cert,
  });
  if (backend.capabilities.incrementalState) {
    let worst: number | undefined;
    const state = await timeMedian(
      async () => {
        const st = instance.createState({
          batch: 1,
          heads: c.heads,
          headDim: c.headDim,
          scale: 1,
          logitBound: o.beta,
          epsilon: o.epsilon,
        });
        try {
          let prev = 0;
          for (const e of se) {
            await st.append(tokens(k, prev, e), tokens(v, prev, e));
            const r = await st.attend(tokens(q, prev, e));
            if (r.certificate) worst = Math.max(worst ?? 0, r.certificate.errBoundMax);
            prev = e;
          }
        } finally {
          st.dispose();
        }
      },
      o.reps,
      o.signal,
    );
    rows.push({
      backend: backend.id,
      exact: backend.exact,
      L: c.L,
      heads: c.heads,
      headDim: c.headDim,
      path: 'kv-state',
      seconds: state.median,
      gflops: flops / state.median / 1e9,
      runs: state.runs.length,
      certifiedError: worst,
    });
  }
  return rows;
}
