/**
 * Property tests of the one-shot path: on seeded random and adversarial inputs, a certified result is
 * never further from the float64 reference than its certificate says, and a result without a
 * certificate is exact and says why.
 */
import { describe, expect, it } from 'vitest';
import { Rng, Tensor, type AttentionMask, type AttentionResult } from '@nextscale/core';
import { certifiedPolynomial, evalPoly, referenceAttention, type PolyFamily } from '@nextscale/core/attention';
import { createLowrankAttention } from './backend.js';
import type { LowrankOptions } from './options.js';
import { ballRows, maxAbs, maxAbsDiff, tensorOf } from './test-support.js';

const FAMILIES: PolyFamily[] = ['taylor-even', 'minimax-rel', 'chebyshev'];
const DIMS = [1, 2, 3, 4, 8, 16];

interface Case {
  label: string;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  scale: number;
  mask: AttentionMask;
  family: PolyFamily;
  epsilon: number;
  logitBound?: number;
}

interface Outcome {
  certified: boolean;
  err: number;
  bound?: number;
}

/** The contract under test: certified ⇒ err ≤ errBoundMax (and ≤ ε up to output rounding); otherwise exact with a reason. */
function check(c: Case, r: AttentionResult): Outcome {
  const ref = referenceAttention(c.q, c.k, c.v, c.scale, c.mask);
  const err = maxAbsDiff(r.output.data, ref);
  const vmax = Math.max(1, maxAbs(c.v.data));
  if (r.certificate) {
    const cert = r.certificate;
    expect(err, `${c.label}: measured ${err} > certified ${cert.errBoundMax}`).toBeLessThanOrEqual(
      cert.errBoundMax + 1e-12 * vmax,
    );
    expect(cert.errBoundMax, `${c.label}: bound above ε`).toBeLessThanOrEqual(c.epsilon + 1e-6 * vmax);
    expect(cert.deltaPoly + cert.deltaFp).toBeLessThan(1);
    expect(cert.regime).toBe('subcritical');
    expect(cert.family).toBe(c.family);
    expect(r.exactReason).toBeUndefined();
    return { certified: true, err, bound: cert.errBoundMax };
  }
  expect(err, `${c.label}: uncertified result is not exact (${r.exactReason})`).toBeLessThanOrEqual(1e-5 * vmax);
  expect(r.exactReason, `${c.label}: exact result without a reason`).toMatch(
    /critical regime|cannot certify|exact is cheaper/,
  );
  return { certified: false, err };
}

async function run(
  c: Case,
  options: LowrankOptions = { exactWhenCheaper: false, gMax: 12, rMax: 20000 },
): Promise<Outcome> {
  const att = createLowrankAttention(options);
  const r = await att.attend(c.q, c.k, c.v, {
    scale: c.scale,
    mask: c.mask,
    family: c.family,
    epsilon: c.epsilon,
    logitBound: c.logitBound,
  } as never);
  return check(c, r);
}

function randomPyramid(rng: Rng, minL: number): number[] {
  const ends: number[] = [];
  let e = 0;
  while (e < minL) ends.push((e += 1 + Math.floor(rng.uniform() * Math.max(2, e))));
  return ends;
}

describe('one-shot lowrank: certificates hold on seeded random inputs', () => {
  it('β ∈ [0.05, 4], d ∈ {1,2,3,4,8,16}, every family, masks none / block-causal', async () => {
    const rng = new Rng(2024);
    const outcomes: Outcome[] = [];
    for (let t = 0; t < 120; t++) {
      const d = DIMS[t % DIMS.length];
      const family = FAMILIES[Math.floor(t / DIMS.length) % FAMILIES.length];
      const beta = 0.05 + 3.95 * rng.uniform() ** 2;
      const L = Math.min(200, Math.max(24, Math.ceil(2 * Math.exp(beta)) + Math.floor(rng.uniform() * 80)));
      const causal = rng.uniform() < 0.5;
      const ends = randomPyramid(rng, L);
      const mask: AttentionMask = causal ? { kind: 'block-causal', scaleEnds: ends } : { kind: 'none' };
      const Lk = causal ? ends[ends.length - 1] : L;
      const Lq = causal ? Lk : 1 + Math.floor(rng.uniform() * 40);
      const [B, H] = [1 + (t % 2), 1 + (t % 3 === 0 ? 1 : 0)];
      const sigma = [0.1, 1, 3][t % 3];
      const offset = t % 4 === 0 ? 5 : 0;
      const c: Case = {
        label: `case ${t} (${family}, d=${d}, β=${beta.toFixed(3)}, L=${Lk}, ${mask.kind})`,
        q: tensorOf(B, H, Lq, d, () => ballRows(rng, Lq, d, 1)),
        k: tensorOf(B, H, Lk, d, () => ballRows(rng, Lk, d, 1)),
        v: tensorOf(B, H, Lk, d, () => Float32Array.from({ length: Lk * d }, () => offset + sigma * rng.normal())),
        scale: beta,
        mask,
        family,
        epsilon: [1e-2, 1e-3][t % 2],
        logitBound: t % 5 === 0 ? beta : undefined,
      };
      outcomes.push(await run(c));
    }
    const certified = outcomes.filter((o) => o.certified);
    expect(certified.length, 'too few certified cases to test anything').toBeGreaterThanOrEqual(60);
    expect(outcomes.length - certified.length, 'some cases must exercise the exact refusals').toBeGreaterThan(0);
    // The bound is honest but not vacuous: every certified case has a positive bound.
    for (const o of certified) expect(o.bound!).toBeGreaterThan(0);
  });

  it('adversarial inputs: keys aligned with a query, constant rows, one huge value column, all-equal keys, q = −k', async () => {
    const rng = new Rng(77);
    const counts: Record<string, { certified: number; total: number }> = {};
    for (const kind of ['aligned', 'constant-rows', 'huge-column', 'equal-keys', 'q-neg-k'] as const) {
      counts[kind] = { certified: 0, total: 0 };
      for (const family of FAMILIES) {
        for (const d of [1, 3, 8, 16]) {
          for (const beta of [0.05, 0.5, 2, 4]) {
            for (const causal of [false, true]) {
              const L = Math.max(40, Math.ceil(2 * Math.exp(beta)) + 8);
              const mask: AttentionMask = causal
                ? { kind: 'block-causal', scaleEnds: [1, 5, 14, L] }
                : { kind: 'none' };
              const base = ballRows(rng, L, d, 1, 0.999);
              const u = base.subarray(0, d);
              let q = ballRows(rng, L, d, 1);
              let k = ballRows(rng, L, d, 1);
              let v = Float32Array.from({ length: L * d }, () => rng.normal());
              if (kind === 'aligned') {
                // Half the keys along the first query, half against it: logits at ±β.
                q = Float32Array.from({ length: L * d }, (_, i) => u[i % d]);
                k = Float32Array.from({ length: L * d }, (_, i) => (Math.floor(i / d) % 2 ? -1 : 1) * u[i % d]);
              } else if (kind === 'constant-rows') {
                v = Float32Array.from({ length: L * d }, (_, i) => 0.75 + (i % d));
              } else if (kind === 'huge-column') {
                for (let j = 0; j < L; j++) v[j * d] = 1e4 * rng.normal();
              } else if (kind === 'equal-keys') {
                k = Float32Array.from({ length: L * d }, (_, i) => u[i % d]);
              } else {
                k = Float32Array.from(q, (x) => -x);
              }
              const c: Case = {
                label: `${kind} (${family}, d=${d}, β=${beta}, ${mask.kind})`,
                q: new Tensor([1, 1, L, d], q),
                k: new Tensor([1, 1, L, d], k),
                v: new Tensor([1, 1, L, d], v),
                scale: beta,
                mask,
                family,
                epsilon: 1e-2,
              };
              const o = await run(c);
              counts[kind].total++;
              if (o.certified) counts[kind].certified++;
              if (kind === 'constant-rows' && o.certified) {
                // ρ = 0: the output is the constant, up to float32 rounding.
                expect(o.err).toBeLessThanOrEqual(1e-6 * d);
              }
            }
          }
        }
      }
    }
    for (const kind of ['aligned', 'constant-rows', 'equal-keys', 'q-neg-k'])
      expect(counts[kind].certified, kind).toBeGreaterThan(10);
    // A value range of ~10^4 makes δ ≤ ε/(ε+ρ) uncertifiable within the caps: exact, with a reason.
    expect(counts['huge-column'].certified).toBeLessThan(counts['huge-column'].total);
  });
});

describe('one-shot lowrank: what the result says', () => {
  const rng = new Rng(5);
  const L = 120;
  const d = 4;
  const q = new Tensor([1, 1, L, d], ballRows(rng, L, d, 1));
  const k = new Tensor([1, 1, L, d], ballRows(rng, L, d, 1));
  const v = new Tensor(
    [1, 1, L, d],
    Float32Array.from({ length: L * d }, () => rng.normal()),
  );
  const mask: AttentionMask = { kind: 'block-causal', scaleEnds: [1, 5, 21, 56, L] };

  it('the block-causal recurrence equals the explicitly masked low-rank attention D̃⁻¹((U1U2ᵀ)∘M)V', async () => {
    for (const family of FAMILIES) {
      const r = await createLowrankAttention({ exactWhenCheaper: false }).attend(q, k, v, {
        scale: 0.8,
        mask,
        family,
      } as never);
      const cert = r.certificate!;
      expect(cert, family).toBeDefined();
      const P = certifiedPolynomial(family, cert.beta, cert.degree).coeffs;
      let worst = 0;
      for (let i = 0; i < L; i++) {
        const n = mask.scaleEnds.find((e) => e > i)!;
        let den = 0;
        const num = new Float64Array(d);
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += q.data[i * d + c] * k.data[j * d + c];
          const a = evalPoly(P, 0.8 * s);
          den += a;
          for (let c = 0; c < d; c++) num[c] += a * v.data[j * d + c];
        }
        for (let c = 0; c < d; c++) worst = Math.max(worst, Math.abs(num[c] / den - r.output.data[i * d + c]));
      }
      expect(worst, family).toBeLessThan(2e-6);
    }
  });

  it('reports β, its source, the entry bound, costs and the polynomial in the certificate', async () => {
    const r = await createLowrankAttention({ exactWhenCheaper: false }).attend(q, k, v, { scale: 0.5, mask });
    const c = r.certificate!;
    expect(c.backend).toBe('lowrank');
    expect(c.betaSource).toBe('row-norm');
    expect(c.beta).toBeCloseTo(0.5, 6); // float32 unit vectors
    expect(c.beta).toBeGreaterThanOrEqual(0.5);
    expect(c.Rentry).toBeLessThanOrEqual(1);
    expect(c.betaEntry as number).toBeGreaterThanOrEqual(c.beta);
    expect(c.family).toBe('minimax-rel');
    expect(c.errBoundPerChannel).toHaveLength(d);
    expect(c.errBoundMax).toBe(Math.max(...c.errBoundPerChannel));
    expect(c.estCostLowrank).toBeGreaterThan(0);
    expect(c.estCostExact).toBeGreaterThan(0);
    expect(c.guardTripped).toBe(false);
    expect(c.recomputed).toEqual([]);
    const withBound = await createLowrankAttention({ exactWhenCheaper: false }).attend(q, k, v, {
      scale: 0.5,
      mask,
      logitBound: 0.3,
    });
    expect(withBound.certificate!.betaSource).toBe('l2-static');
    expect(withBound.certificate!.beta).toBe(0.3);
  });

  it('computes exactly and says why: critical regime, uncertifiable ε, exact cheaper', async () => {
    const att = createLowrankAttention({ exactWhenCheaper: true });
    const critical = await att.attend(q, k, v, { scale: 6, mask });
    expect(critical.certificate).toBeUndefined();
    expect(critical.exactReason).toMatch(
      /^critical regime: beta = 6 \(row-norm\) >= ln L = 4\.79 \(L = 120\); computed exactly$/,
    );
    const caps = await att.attend(q, k, v, { scale: 2, mask, gMax: 1 } as never);
    expect(caps.exactReason).toMatch(
      /^cannot certify epsilon = 0\.01 within the caps \(gMax 1, rMax 5000; .*degree cap/,
    );
    const rank = await att.attend(q, k, v, { scale: 2, mask, rMax: 10 } as never);
    expect(rank.exactReason).toMatch(/rank cap: degree \d would need rank \d+ > rMax 10/);
    const cheaper = await att.attend(q, k, v, { scale: 0.5, mask, epsilon: 1e-6 });
    expect(cheaper.exactReason).toMatch(/^exact is cheaper for this call: C_ex = .* <= C_lr = /);
    for (const r of [critical, caps, rank, cheaper])
      expect(
        maxAbsDiff(r.output.data, referenceAttention(q, k, v, r === critical ? 6 : r === cheaper ? 0.5 : 2, mask)),
      ).toBeLessThan(1e-5);
  });

  it('trips the runtime guard when the given logit bound is false, recomputes those rows exactly and lists them', async () => {
    // Keys along u; the first half of the queries along −u with norm 3 (logit −3), the rest tiny.
    const n = 64;
    const dim = 3;
    const u = [0.6, 0.8, 0];
    const kk = new Tensor(
      [1, 1, n, dim],
      Float32Array.from({ length: n * dim }, (_, i) => u[i % dim]),
    );
    const qq = new Tensor(
      [1, 1, n, dim],
      Float32Array.from({ length: n * dim }, (_, i) => (Math.floor(i / dim) < n / 2 ? -3 : 0.01) * u[i % dim]),
    );
    const vv = new Tensor(
      [1, 1, n, dim],
      Float32Array.from({ length: n * dim }, () => rng.normal()),
    );
    const r = await createLowrankAttention({ exactWhenCheaper: false }).attend(qq, kk, vv, {
      scale: 1,
      logitBound: 0.05,
      family: 'chebyshev',
    } as never);
    const c = r.certificate!;
    expect(c.degree).toBe(1); // P(x) ≈ 1 + x goes negative at the real logit −3
    expect(c.guardTripped).toBe(true);
    expect(c.recomputed).toEqual([
      'batch 0, head 0: rows 0-31 recomputed exactly (normaliser guard or non-finite output)',
    ]);
    const ref = referenceAttention(qq, kk, vv, 1);
    expect(maxAbsDiff(r.output.data.subarray(0, (n / 2) * dim), ref.subarray(0, (n / 2) * dim))).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.output.data, ref)).toBeLessThanOrEqual(c.errBoundMax);
  });
});
