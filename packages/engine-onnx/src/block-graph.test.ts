/**
 * The fused block (block-graph.ts through block-runner.ts) against core's own block (models/var/block.ts runBlock)
 * with the float64 reference attention: teacher forcing under the block-causal mask, and next-scale inference with
 * the KV cache held in the engine across several scales; l2-normalised heads with per-head scales, and plain
 * scaled-dot-product heads with an odd head dimension.
 */
import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '@nextscale/core';
import { referenceAttentionTensor } from '@nextscale/core/attention';
import { runBlock, type VARBlockWeights, type VARConfig } from '@nextscale/core/models';
import { concatTokens } from '@nextscale/core/testing';
import { BlockRunner } from './block-runner.js';
import { loadOrt } from './node.js';

interface Case {
  label: string;
  C: number;
  H: number;
  hidden: number;
  l2: boolean;
}

const CASES: Case[] = [
  { label: 'l2-normalised q/k, per-head scale, hd 8', C: 24, H: 3, hidden: 96, l2: true },
  { label: 'scaled dot product 0.25/√hd, odd hd 5', C: 20, H: 4, hidden: 52, l2: false },
  { label: 'l2-normalised, odd hd 7, one head', C: 7, H: 1, hidden: 28, l2: true },
];
const PATCH_NUMS = [1, 2, 3, 4];
const N = 3;

function randomTensor(rng: Rng, shape: number[], scale: number): Tensor {
  const t = new Tensor(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (rng.uniform() * 2 - 1) * scale;
  return t;
}

function setup(c: Case, seed: number) {
  const rng = new Rng(seed);
  const { C, H, hidden } = c;
  const hd = C / H;
  const qkvBias = randomTensor(rng, [3 * C], 0.1);
  qkvBias.data.fill(0, C, 2 * C); // [q_bias, 0, v_bias]
  const block: VARBlockWeights = {
    qkvWeight: randomTensor(rng, [3 * C, C], 0.4),
    qkvBias,
    ...(c.l2
      ? { qScale: Float32Array.from({ length: H }, (_, h) => Math.exp(Math.min(Math.log(4 + 20 * h), Math.log(100)))) }
      : {}),
    projWeight: randomTensor(rng, [C, C], 0.3),
    projBias: randomTensor(rng, [C], 0.1),
    fc1Weight: randomTensor(rng, [hidden, C], 0.3),
    fc1Bias: randomTensor(rng, [hidden], 0.1),
    fc2Weight: randomTensor(rng, [C, hidden], 0.2),
    fc2Bias: randomTensor(rng, [C], 0.1),
  };
  const scale = c.l2 ? 1 : 0.25 / Math.sqrt(hd);
  const config = { numHeads: H, headDim: hd, normEps: 1e-6, attnL2Norm: c.l2, attnScale: scale } as VARConfig;
  const m = randomTensor(rng, [N, 6 * C], 0.5);
  const weights = {
    qkvWeight: block.qkvWeight.data,
    qkvBias: block.qkvBias.data,
    ...(block.qScale ? { qScale: block.qScale } : {}),
    projWeight: block.projWeight.data,
    projBias: block.projBias.data,
    fc1Weight: block.fc1Weight.data,
    fc1Bias: block.fc1Bias.data,
    fc2Weight: block.fc2Weight.data,
    fc2Bias: block.fc2Bias.data,
  };
  const shape = { width: C, heads: H, headDim: hd, hidden, eps: 1e-6, scale };
  return { rng, block, config, m, weights, shape };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const scaleEnds = PATCH_NUMS.reduce<number[]>((e, pn) => [...e, (e.at(-1) ?? 0) + pn * pn], []);
const loaded = await loadOrt();
if (!loaded.ok) throw new Error(loaded.reason);
const runner = new BlockRunner(loaded.ort as never, {
  executionProviders: ['cpu'],
  cpu: { threads: 2, memArena: false, spinning: false, prepack: true },
});

describe.each(CASES)('fused transformer block: $label', (c) => {
  it('teacher forcing (block-causal mask over every scale) matches core runBlock within 1e-4', async () => {
    const { rng, block, config, m, weights, shape } = setup(c, 11);
    const L = scaleEnds.at(-1)!;
    const x = randomTensor(rng, [N, L, c.C], 1);
    const mask = { kind: 'block-causal' as const, scaleEnds };
    const want = await runBlock(x, m, block, config, async (q, k, v) =>
      referenceAttentionTensor(q, k, v, config.attnScale, mask),
    );
    const got = await runner.run({
      weights,
      shape,
      x: x.data,
      batch: N,
      tokens: L,
      modulation: m.data,
      cache: null,
      scaleEnds,
    });
    expect(maxAbsDiff(got, want.data)).toBeLessThan(1e-4);
    // the mask matters: attending to every token gives a different block output
    const unmasked = await runBlock(x, m, block, config, async (q, k, v) =>
      referenceAttentionTensor(q, k, v, config.attnScale),
    );
    expect(maxAbsDiff(got, unmasked.data)).toBeGreaterThan(1e-3);
  });

  it('next-scale inference with the KV cache held by the engine matches core runBlock at every scale within 1e-4', async () => {
    const { rng, block, config, m, weights, shape } = setup(c, 12);
    const keys: Tensor[] = [];
    const values: Tensor[] = [];
    const attend = async (q: Tensor, k: Tensor, v: Tensor) => {
      keys.push(k.clone());
      values.push(v.clone());
      return referenceAttentionTensor(q, concatTokens(keys), concatTokens(values), config.attnScale);
    };
    const cache = {};
    for (const pn of PATCH_NUMS) {
      const x = randomTensor(rng, [N, pn * pn, c.C], 1);
      const want = await runBlock(x, m, block, config, attend);
      const got = await runner.run({ weights, shape, x: x.data, batch: N, tokens: pn * pn, modulation: m.data, cache });
      expect(maxAbsDiff(got, want.data), `scale ${pn}×${pn}`).toBeLessThan(1e-4);
    }
    // a fresh cache starts over: the last scale alone differs from the same scale after the others
    const x = randomTensor(rng, [N, 16, c.C], 1);
    const withHistory = await runner.run({
      weights,
      shape,
      x: x.data,
      batch: N,
      tokens: 16,
      modulation: m.data,
      cache,
    });
    const alone = await runner.run({ weights, shape, x: x.data, batch: N, tokens: 16, modulation: m.data, cache: {} });
    expect(maxAbsDiff(withHistory, alone)).toBeGreaterThan(1e-3);
  });
});

it('one image gives the same block output alone and in a batch (batch invariance)', async () => {
  const c = CASES[0];
  const { rng, m, weights, shape } = setup(c, 13);
  const x = randomTensor(rng, [N, 9, c.C], 1);
  const batch = await runner.run({ weights, shape, x: x.data, batch: N, tokens: 9, modulation: m.data, cache: {} });
  const one = await runner.run({
    weights,
    shape,
    x: x.data.subarray(9 * c.C, 18 * c.C),
    batch: 1,
    tokens: 9,
    modulation: m.data.subarray(6 * c.C, 12 * c.C),
    cache: {},
  });
  expect(Array.from(one)).toEqual(Array.from(batch.subarray(9 * c.C, 18 * c.C)));
});

it('rows split over several calls, differently at each scale, give the same outputs as one call for all rows', async () => {
  const c = CASES[0];
  const { rng, weights, shape } = setup(c, 14);
  const rows = 5; // not a power of two: the calls take 4 + 1 rows, then 2 + 2 + 1, then 1 each
  const m = randomTensor(rng, [rows, 6 * c.C], 0.5);
  // budgets in bytes of the largest intermediate per call (4·T·max(hidden, H·(P+T)) per row, hidden 96 here)
  const split = new BlockRunner(
    loaded.ort as never,
    { executionProviders: ['cpu'], cpu: { threads: 2, memArena: false, spinning: false, prepack: true } },
    2 * 4 * 4 * 96,
  );
  const whole = new BlockRunner(
    loaded.ort as never,
    { executionProviders: ['cpu'], cpu: { threads: 2, memArena: false, spinning: false, prepack: true } },
    2 ** 40,
  );
  const caches = { split: {}, whole: {}, reserved: {} };
  for (const pn of PATCH_NUMS) {
    const x = randomTensor(rng, [rows, pn * pn, c.C], 1);
    const args = { weights, shape, x: x.data, batch: rows, tokens: pn * pn, modulation: m.data };
    const a = await split.run({ ...args, cache: caches.split });
    const b = await whole.run({ ...args, cache: caches.whole });
    expect(Array.from(a), `scale ${pn}×${pn}`).toEqual(Array.from(b));
    // the cache reserved up front for every scale but the last (as core asks; the last scale's keys and values are
    // not kept) gives the same as one grown per scale
    const r = await whole.run({ ...args, cache: caches.reserved, maxTokens: scaleEnds.at(-2)! });
    expect(Array.from(r), `scale ${pn}×${pn}, reserved`).toEqual(Array.from(b));
  }
  // the last scale's keys were not kept, so a further step is refused rather than run on a cache that lacks them
  const x = randomTensor(rng, [rows, 1, c.C], 1);
  const again = { weights, shape, x: x.data, batch: rows, tokens: 1, modulation: m.data };
  await expect(whole.run({ ...again, cache: caches.reserved, maxTokens: scaleEnds.at(-2)! })).rejects.toThrow(
    /after the one that passed maxTokens/,
  );
  // a step that would cross the reserved length without starting at it is a caller's mistake, not a last scale
  await expect(
    whole.run({ ...again, x: randomTensor(rng, [rows, 4, c.C], 1).data, tokens: 4, cache: {}, maxTokens: 2 }),
  ).rejects.toThrow(/crosses maxTokens 2/);
});
