/**
 * The incremental prefix state: equal to the one-shot block-causal path, certified per scale, and
 * explicit about every rebuild, refusal and exact scale.
 */
import { describe, expect, it } from 'vitest';
import { Rng, Tensor, type AttentionResult, type AttentionState } from '@nextscale/core';
import { referenceAttention, type PolyFamily } from '@nextscale/core/attention';
import { sliceTokens, concatTokens } from '@nextscale/core/testing';
import { createLowrankAttention } from './backend.js';
import type { LowrankOptions, LowrankStateOptions } from './options.js';
import { ballRows, maxAbs, maxAbsDiff, pyramidEnds, tensorOf } from './test-support.js';

interface Run {
  results: AttentionResult[];
  output: Tensor;
}

async function runState(st: AttentionState, q: Tensor, k: Tensor, v: Tensor, ends: number[]): Promise<Run> {
  const results: AttentionResult[] = [];
  let start = 0;
  for (const end of ends) {
    await st.append(sliceTokens(k, start, end), sliceTokens(v, start, end));
    results.push(await st.attend(sliceTokens(q, start, end)));
    start = end;
  }
  return { results, output: concatTokens(results.map((r) => r.output)) };
}

/** Each scale: certified ⇒ within its bound of the reference rows; otherwise exact with a reason. */
function checkScales(run: Run, ref: Float64Array, shape: number[], ends: number[], vmax: number, label: string): void {
  let start = 0;
  ends.forEach((end, s) => {
    const r = run.results[s];
    const refRows = sliceTokens(new Tensor(shape, Float32Array.from(ref)), start, end).data;
    const refRows64 = sliceRows(ref, shape, start, end);
    const err = maxAbsDiff(r.output.data, refRows64);
    if (r.certificate)
      expect(err, `${label}, scale ${s}`).toBeLessThanOrEqual(r.certificate.errBoundMax + 1e-12 * vmax);
    else {
      expect(err, `${label}, scale ${s}: ${r.exactReason}`).toBeLessThanOrEqual(1e-5 * vmax);
      expect(r.exactReason).toMatch(/^(scale \d+: |exact since scale \d+: )/);
    }
    expect(refRows.length).toBe(r.output.data.length);
    start = end;
  });
}

function sliceRows(flat: Float64Array, shape: number[], t0: number, t1: number): Float64Array {
  const [B, H, L, d] = shape as [number, number, number, number];
  const out = new Float64Array(B * H * (t1 - t0) * d);
  for (let bh = 0; bh < B * H; bh++) out.set(flat.subarray((bh * L + t0) * d, (bh * L + t1) * d), bh * (t1 - t0) * d);
  return out;
}

const stateOptions = (
  o: Partial<LowrankStateOptions> & { batch: number; heads: number; headDim: number; scale: number },
) => o as LowrankStateOptions;

describe('lowrank prefix state', () => {
  it('equals the one-shot block-causal path when both use the same polynomial (l2-static β)', async () => {
    const rng = new Rng(8);
    for (const family of ['taylor-even', 'minimax-rel', 'chebyshev'] as PolyFamily[]) {
      for (const d of [2, 8]) {
        const ends = [2, ...pyramidEnds([1, 2, 4, 8]).map((e) => e + 2)];
        const L = ends[ends.length - 1];
        const beta = 0.25;
        // l2-normalised heads: q on the sphere of radius β, k on the unit sphere, τ = 1.
        const q = tensorOf(2, 2, L, d, () => ballRows(rng, L, d, beta, 0.999));
        const k = tensorOf(2, 2, L, d, () => ballRows(rng, L, d, 1, 0.999));
        // The first scale holds every channel's extremes, so both paths centre the values alike.
        const v = tensorOf(2, 2, L, d, () =>
          Float32Array.from({ length: L * d }, (_, i) =>
            i < d ? 5 : i < 2 * d ? -5 : Math.max(-4.9, Math.min(4.9, rng.normal())),
          ),
        );
        const opts: LowrankOptions = { exactWhenCheaper: false, family };
        const att = createLowrankAttention(opts);
        const mask = { kind: 'block-causal' as const, scaleEnds: ends };
        const oneShot = await att.attend(q, k, v, { scale: 1, mask, logitBound: beta });
        const run = await runState(
          att.createState({ batch: 2, heads: 2, headDim: d, scale: 1, logitBound: beta }),
          q,
          k,
          v,
          ends,
        );
        expect(oneShot.certificate, family).toBeDefined();
        for (const r of run.results) {
          expect(r.certificate!.degree).toBe(oneShot.certificate!.degree);
          expect(r.certificate!.betaSource).toBe('l2-static');
          expect(r.certificate!.events).toEqual([]);
        }
        expect(maxAbsDiff(run.output.data, oneShot.output.data), `${family} d=${d}`).toBeLessThan(2e-6);
        checkScales(run, referenceAttention(q, k, v, 1, mask), q.shape, ends, 5, `${family} d=${d}`);
      }
    }
  });

  it('certifies every scale on random pyramids, β, d and families (cap mode and static mode)', async () => {
    const rng = new Rng(99);
    let certified = 0;
    for (let t = 0; t < 36; t++) {
      const d = [1, 2, 3, 4, 8, 16][t % 6];
      const family = (['taylor-even', 'minimax-rel', 'chebyshev'] as PolyFamily[])[Math.floor(t / 6) % 3];
      const beta = 0.05 + 1.95 * rng.uniform();
      const ends = pyramidEnds(t % 2 ? [1, 2, 3, 4, 6, 8] : [1, 2, 4, 8]);
      const L = ends[ends.length - 1];
      const q = tensorOf(1, 2, L, d, () => ballRows(rng, L, d, 1));
      const k = tensorOf(1, 2, L, d, () => ballRows(rng, L, d, 1));
      const v = tensorOf(1, 2, L, d, () => Float32Array.from({ length: L * d }, () => rng.normal()));
      const att = createLowrankAttention({ exactWhenCheaper: t % 3 === 0, gMax: 10, rMax: 20000 });
      const run = await runState(
        att.createState(
          stateOptions({
            batch: 1,
            heads: 2,
            headDim: d,
            scale: beta,
            logitBound: t % 4 === 0 ? beta : undefined,
            family,
          }),
        ),
        q,
        k,
        v,
        ends,
      );
      checkScales(
        run,
        referenceAttention(q, k, v, beta, { kind: 'block-causal', scaleEnds: ends }),
        q.shape,
        ends,
        maxAbs(v.data),
        `case ${t}`,
      );
      certified += run.results.filter((r) => r.certificate).length;
      const oneShot = await att.attend(q, k, v, {
        scale: beta,
        mask: { kind: 'block-causal', scaleEnds: ends },
        family,
      } as never);
      const last = run.results[run.results.length - 1];
      const tol = (last.certificate?.errBoundMax ?? 1e-5) + (oneShot.certificate?.errBoundMax ?? 1e-5);
      const lastRows = ends[ends.length - 1] - ends[ends.length - 2];
      expect(maxAbsDiff(last.output.data, sliceTokens(oneShot.output, L - lastRows, L).data)).toBeLessThanOrEqual(tol);
    }
    expect(certified).toBeGreaterThanOrEqual(60);
  });

  it('cap mode: a scale whose norms exceed the cap rebuilds the state from the stored prefix, and says so', async () => {
    const rng = new Rng(4);
    const d = 4;
    const ends = pyramidEnds([2, 3, 4, 6, 8]);
    const L = ends[ends.length - 1];
    // Norms grow with the scale: radius 0.3 for the first two scales, 0.9 after.
    const rows = (radius: (i: number) => number) => {
      const x = ballRows(rng, L, d, 1, 0.999);
      for (let i = 0; i < L; i++) for (let c = 0; c < d; c++) x[i * d + c] *= radius(i);
      return x;
    };
    const radius = (i: number) => (i < ends[1] ? 0.3 : 0.9);
    const q = new Tensor([1, 1, L, d], rows(radius));
    const k = new Tensor([1, 1, L, d], rows(radius));
    const v = new Tensor(
      [1, 1, L, d],
      Float32Array.from({ length: L * d }, () => rng.normal()),
    );
    const run = await runState(
      createLowrankAttention({ exactWhenCheaper: false }).createState({ batch: 1, heads: 1, headDim: d, scale: 1 }),
      q,
      k,
      v,
      ends,
    );
    checkScales(
      run,
      referenceAttention(q, k, v, 1, { kind: 'block-causal', scaleEnds: ends }),
      q.shape,
      ends,
      maxAbs(v.data),
      'cap',
    );
    const certs = run.results.map((r) => r.certificate).filter((c) => c !== undefined);
    expect(certs.length).toBeGreaterThanOrEqual(3);
    for (const c of certs) expect(c.betaSource).toBe('cap');
    const events = certs[certs.length - 1].events as string[];
    expect(events.some((e) => /^scale 2: row-norm bound .* exceeded the cap .*; new cap /.test(e))).toBe(true);
    expect(
      events.some((e) =>
        /^scale 2: logit bound .* above the polynomial's .*; prefix state rebuilt from \d+ stored tokens at degree \d \(was \d\)$/.test(
          e,
        ),
      ),
    ).toBe(true);
    expect(certs[certs.length - 1].beta).toBeGreaterThan(certs[0].beta);
  });

  it('raises the degree (rebuild) when the value range grows, and switches to exact for the rest when no degree within the caps certifies', async () => {
    const rng = new Rng(6);
    const d = 3;
    const ends = pyramidEnds([2, 3, 4, 5, 6]);
    const L = ends[ends.length - 1];
    const q = new Tensor([1, 1, L, d], ballRows(rng, L, d, 1));
    const k = new Tensor([1, 1, L, d], ballRows(rng, L, d, 1));
    // Values: tiny range, then unit range, then a huge one from scale 3 on.
    const v = new Tensor(
      [1, 1, L, d],
      Float32Array.from(
        { length: L * d },
        (_, i) => (i < ends[1] * d ? 0.001 : i < ends[2] * d ? 1 : 1e4) * rng.normal(),
      ),
    );
    const st = createLowrankAttention({ exactWhenCheaper: false, gMax: 4 }).createState({
      batch: 1,
      heads: 1,
      headDim: d,
      scale: 0.5,
      logitBound: 0.5,
    });
    const run = await runState(st, q, k, v, ends);
    checkScales(
      run,
      referenceAttention(q, k, v, 0.5, { kind: 'block-causal', scaleEnds: ends }),
      q.shape,
      ends,
      1e5,
      'range',
    );
    const [s0, s1, s2, s3, s4] = run.results as [
      AttentionResult,
      AttentionResult,
      AttentionResult,
      AttentionResult,
      AttentionResult,
    ];
    expect(s0.certificate && s1.certificate && s2.certificate).toBeTruthy();
    expect(s2.certificate!.degree).toBeGreaterThan(s0.certificate!.degree);
    expect(
      (s2.certificate!.events as string[]).some((e) =>
        /^scale 2: value range .* need δ ≤ .*; prefix state rebuilt from \d+ stored tokens at degree/.test(e),
      ),
    ).toBe(true);
    expect(s3.certificate).toBeUndefined();
    expect(s3.exactReason).toMatch(
      /^exact since scale 3: cannot certify epsilon = 0\.01 within the caps \(gMax 4, rMax 5000; beta = 0\.5, value range .*\): degree cap/,
    );
    expect(s4.exactReason).toBe(s3.exactReason);
  });

  it('computes early scales exactly while β ≥ ln L at the prefix, or while exact is cheaper, and says which', async () => {
    const rng = new Rng(12);
    const d = 2;
    const ends = pyramidEnds([1, 2, 3, 4, 6]);
    const L = ends[ends.length - 1];
    const q = new Tensor([1, 1, L, d], ballRows(rng, L, d, 1));
    const k = new Tensor([1, 1, L, d], ballRows(rng, L, d, 1));
    const v = new Tensor(
      [1, 1, L, d],
      Float32Array.from({ length: L * d }, () => rng.normal()),
    );
    const critical = await runState(
      createLowrankAttention({ exactWhenCheaper: false }).createState({
        batch: 1,
        heads: 1,
        headDim: d,
        scale: 2.5,
        logitBound: 2.5,
      }),
      q,
      k,
      v,
      ends,
    );
    expect(critical.results[0].exactReason).toBe(
      'scale 0: critical regime at this prefix: beta = 2.5 (l2-static) >= ln L = 0 (L = 1); computed exactly',
    );
    expect(critical.results[1].exactReason).toMatch(
      /^scale 1: critical regime at this prefix: beta = 2\.5 \(l2-static\) >= ln L = 1\.61 \(L = 5\)/,
    );
    for (const r of critical.results.slice(2)) expect(r.certificate).toBeDefined(); // L ≥ 14 > e^2.5
    const cheaper = await runState(
      createLowrankAttention({ exactWhenCheaper: true }).createState({ batch: 1, heads: 1, headDim: d, scale: 0.2 }),
      q,
      k,
      v,
      ends,
    );
    expect(cheaper.results[1].exactReason).toMatch(
      /^scale 1: exact is cheaper at this prefix: C_ex = \d+ <= C_lr = \d+ \(degree \d, rank \d+, L = 5\); computed exactly$/,
    );
    expect(cheaper.results.some((r) => r.certificate)).toBe(true);
    for (const [run, scale] of [
      [critical, 2.5],
      [cheaper, 0.2],
    ] as const) {
      checkScales(
        run,
        referenceAttention(q, k, v, scale, { kind: 'block-causal', scaleEnds: ends }),
        q.shape,
        ends,
        maxAbs(v.data),
        'early',
      );
    }
  });

  it('rejects bad use with clear errors', async () => {
    const att = createLowrankAttention();
    const st = att.createState({ batch: 1, heads: 1, headDim: 2, scale: 1 });
    await expect(st.attend(new Tensor([1, 1, 1, 2]))).rejects.toThrow(/before any append/);
    await expect(st.append(new Tensor([1, 1, 2, 2]), new Tensor([1, 1, 3, 2]))).rejects.toThrow(/v shape/);
    await expect(st.append(new Tensor([1, 2, 2, 2]), new Tensor([1, 2, 2, 2]))).rejects.toThrow(
      /does not match the state/,
    );
    expect(() => att.createState({ batch: 1, heads: 1, headDim: 2, scale: 1, logitBound: -1 })).toThrow(
      /logitBound must be a finite number ≥ 0/,
    );
    expect(() => att.createState(stateOptions({ batch: 1, heads: 1, headDim: 2, scale: 1, capFactor: 0.5 }))).toThrow(
      /capFactor/,
    );
  });
});
