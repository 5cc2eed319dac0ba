// The attention shapes the gpu benchmarks time, shared by bench/attention.mjs and device/check.mjs:
// VAR's token pyramids (L = 680 for 256 px, 2240 for 512 px; 30 is a quick smoke size), head dim 64,
// block-causal over the scales and unmasked.
import { Rng, Tensor } from '@nextscale/core';
import { pyramidWork } from '@nextscale/core/attention';
import { RELEASED_PYRAMIDS, scaleEnds as scaleEndsOf } from '@nextscale/core/models';

export const PYRAMIDS = { 30: [1, 2, 3, 4], ...RELEASED_PYRAMIDS };

/** Both masks at length L: the mask spec and the FLOPs of exact attention (2 GEMMs over the visible pairs). */
export function attentionCases(L, d = 64) {
  const pyramid = PYRAMIDS[L];
  if (!pyramid) throw new Error(`no token pyramid for L = ${L} (known: ${Object.keys(PYRAMIDS).join(', ')})`);
  const scaleEnds = scaleEndsOf(pyramid);
  const scale = 1 / Math.sqrt(d);
  return [
    {
      mask: 'block-causal',
      scaleEnds,
      spec: { scale, mask: { kind: 'block-causal', scaleEnds } },
      flops: 4 * pyramidWork(scaleEnds) * d,
    },
    { mask: 'none', scaleEnds: null, spec: { scale }, flops: 4 * L * L * d },
  ];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Median wall time in seconds of `reps` awaited calls after one warm-up call (which compiles kernels). */
export async function medianSeconds(fn, reps) {
  await fn();
  const t = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t) / 1000;
}

/**
 * Times each engine ({ name, mode, create }) on both masks at each length, for `heads` (batch × head)
 * slices of head dim 64 per call, the first engine being the baseline of the `vsFirst` ratio; calls
 * onRow(row) as each row is measured.
 */
export async function timeEngines({ engines, lengths, reps, heads = 1, onRow }) {
  const rng = new Rng(0);
  const rand = (shape) => new Tensor(shape, rng.normalArray(shape.reduce((a, b) => a * b, 1)));
  for (const L of lengths) {
    const [q, k, v] = [0, 1, 2].map(() => rand([1, heads, L, 64]));
    for (const { mask, spec, flops: perHead } of attentionCases(L)) {
      const flops = perHead * heads;
      let baseline;
      for (const e of engines) {
        const att = await e.create();
        const seconds = await medianSeconds(() => att.attend(q, k, v, spec), reps);
        await att.dispose();
        baseline ??= seconds;
        onRow({
          name: e.name,
          mode: e.mode,
          L,
          heads,
          mask,
          seconds,
          gflops: flops / seconds / 1e9,
          vsFirst: seconds / baseline,
        });
      }
    }
  }
}
