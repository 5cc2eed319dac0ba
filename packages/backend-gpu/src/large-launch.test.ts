import { Rng, Tensor } from '@nextscale/core';
import { referenceAttention } from '@nextscale/core/attention';
import { maxAbsDiff } from '@nextscale/core/testing';
import { expect, it } from 'vitest';
import { createGpuAttention } from './index.js';

// One head whose Lq·Lk (1100² ≈ 1.2M) exceeds a launch's flat-index budget (2^20), so its queries are
// split across launches; the result must not change.
it('splits a head too large for one launch into blocks of queries without changing the result', async () => {
  const rng = new Rng(21);
  const L = 1100;
  const d = 3;
  const [q, k, v] = [0, 1, 2].map(() => new Tensor([1, 1, L, d], rng.normalArray(L * d))) as [Tensor, Tensor, Tensor];
  const ends = [100, 400, 1100];
  const att = await createGpuAttention({ mode: 'webasm' });
  const r = await att.attend(q, k, v, { scale: 0.7, mask: { kind: 'block-causal', scaleEnds: ends } });
  expect(
    maxAbsDiff(r.output.data, referenceAttention(q, k, v, 0.7, { kind: 'block-causal', scaleEnds: ends })),
  ).toBeLessThan(5e-6);
  await att.dispose();
});
