import { describe, expect, it } from 'vitest';
import {
  absCoeffSum,
  betaGridUp,
  certifiedPolynomial,
  certifyRelativeError,
  evalPoly,
  exactCost,
  fpDelta,
  isCriticalRegime,
  lowrankCost,
  pyramidWork,
  rankFor,
  selectDegree,
  taylorCoeffs,
  taylorDelta,
  UNIT_ROUNDOFF,
  type PolyFamily,
} from './polynomial.js';

/** max |P(x)e^{−x} − 1| on a grid much denser than the certifier's. */
function measuredRelError(coeffs: ArrayLike<number>, beta: number, points = 200_001): number {
  let m = 0;
  for (let i = 0; i < points; i++) {
    const x = -beta + (2 * beta * i) / (points - 1);
    m = Math.max(m, Math.abs(evalPoly(coeffs, x) * Math.exp(-x) - 1));
  }
  return m;
}

function smallestDegree(family: PolyFamily, beta: number, eps: number): number {
  for (let g = 0; g <= 30; g += family === 'taylor-even' ? 2 : 1)
    if (certifiedPolynomial(family, beta, g).deltaPoly <= eps) return g;
  return -1;
}

describe('rank', () => {
  it('is binom(d+g, g) (docs/theory.md §3)', () => {
    expect([1, 2, 3, 4].map((g) => rankFor(16, g))).toEqual([17, 153, 969, 4845]);
    expect([1, 2, 3, 4].map((g) => rankFor(32, g))).toEqual([33, 561, 6545, 58905]);
    expect([1, 2, 3, 4].map((g) => rankFor(64, g))).toEqual([65, 2145, 47905, 814385]);
    expect(rankFor(7, 0)).toBe(1);
  });
});

describe('taylor-even', () => {
  it('has the closed-form bound of §4.1 (β=1, g=4: 0.0227; β=0.5, g=2: 0.0343)', () => {
    expect(taylorDelta(1, 4)).toBeCloseTo(0.0227, 4);
    expect(taylorDelta(0.5, 2)).toBeCloseTo(0.0343, 4);
  });

  it('closed form ≥ the measured relative error, and the numerical certificate agrees (≤ closed form, ≥ measured)', () => {
    for (const beta of [0.05, 0.3, 1, 2.5, 4]) {
      for (const g of [0, 2, 4, 6, 8]) {
        const c = taylorCoeffs(g);
        const measured = measuredRelError(c, beta);
        expect(taylorDelta(beta, g), `β=${beta} g=${g}`).toBeGreaterThanOrEqual(measured - 1e-15); // the grid measurement carries its own rounding
        const cert = certifyRelativeError(c, beta);
        expect(cert).toBeGreaterThanOrEqual(measured);
        expect(cert).toBeLessThanOrEqual(taylorDelta(beta, g) * 1.01 + 1e-12);
      }
    }
  });

  it('is positive on all of R for even degrees', () => {
    for (const g of [2, 4, 6, 8])
      for (let x = -40; x <= 40; x += 0.01) expect(evalPoly(taylorCoeffs(g), x)).toBeGreaterThan(0);
  });

  it('rejects odd degrees', () => {
    expect(() => certifiedPolynomial('taylor-even', 1, 3)).toThrow(/even degree/);
  });
});

describe('certified families (minimax-rel, chebyshev)', () => {
  it('the certified δ is ≥ the relative error measured on a 25× denser grid, and not loose by more than 10%', () => {
    for (const family of ['minimax-rel', 'chebyshev'] as const) {
      for (const beta of [0.05, 0.25, 0.7, 1.5, 3, 4]) {
        for (const g of [1, 2, 3, 5, 8]) {
          const p = certifiedPolynomial(family, beta, g);
          const measured = measuredRelError(p.coeffs, p.certBeta);
          expect(p.deltaPoly, `${family} β=${beta} g=${g}`).toBeGreaterThanOrEqual(measured);
          if (measured > 1e-12)
            expect(p.deltaPoly, `${family} β=${beta} g=${g}`).toBeLessThanOrEqual(measured * 1.1 + 1e-13);
        }
      }
    }
  });

  it('certifies on the next β-grid point up, which covers [−β, β]', () => {
    for (const beta of [0.01, 0.25, 0.3, 1, 1.07, 3.9, 4]) {
      const up = betaGridUp(beta);
      expect(up).toBeGreaterThanOrEqual(beta);
      expect(up).toBeLessThanOrEqual(beta * 2 ** (1 / 16) * (1 + 1e-12));
      expect(certifiedPolynomial('minimax-rel', beta, 3).certBeta).toBe(up);
    }
  });

  it('reaches the minimax-rel degrees of the §4.1 table (ε = 1e-2 / 1e-3 / 1e-4)', () => {
    const table: [number, number[]][] = [
      [0.25, [2, 2, 3]],
      [0.5, [2, 3, 4]],
      [1, [3, 4, 5]],
      [2, [5, 6, 7]],
      [4, [7, 9, 10]],
    ];
    for (const [beta, degrees] of table)
      expect(
        [1e-2, 1e-3, 1e-4].map((e) => smallestDegree('minimax-rel', beta, e)),
        `β=${beta}`,
      ).toEqual(degrees);
  });

  it('is tighter than Taylor at the same degree and positive on the certified range', () => {
    for (const beta of [0.5, 2, 4]) {
      const p = certifiedPolynomial('minimax-rel', beta, 4);
      expect(p.deltaPoly).toBeLessThan(taylorDelta(beta, 4));
      expect(p.deltaPoly).toBeLessThan(1);
      for (let x = -p.certBeta; x <= p.certBeta; x += p.certBeta / 5000)
        expect(evalPoly(p.coeffs, x)).toBeGreaterThan(0);
    }
  });

  it('the certifier catches a wrong polynomial (a perturbed coefficient raises the certified δ to its real error)', () => {
    const p = certifiedPolynomial('minimax-rel', 1, 4);
    const bad = Float64Array.from(p.coeffs);
    bad[3] += 0.01;
    const measured = measuredRelError(bad, p.certBeta);
    expect(measured).toBeGreaterThan(p.deltaPoly * 2);
    expect(certifyRelativeError(bad, p.certBeta)).toBeGreaterThanOrEqual(measured);
  });
});

describe('degree selection', () => {
  it('picks the smallest degree whose δ_poly + δ_fp ≤ ε/(ε+ρ)', () => {
    for (const family of ['taylor-even', 'minimax-rel', 'chebyshev'] as const) {
      for (const [beta, rho, eps] of [
        [0.25, 1, 1e-2],
        [0.5, 8, 1e-2],
        [1, 3, 1e-3],
        [2, 0.5, 1e-2],
      ]) {
        const c = selectDegree({
          beta: beta!,
          rhoMax: rho!,
          epsilon: eps!,
          L: 1000,
          d: 4,
          family,
          gMax: 20,
          rMax: 1e9,
        });
        expect(c.ok, `${family} β=${beta}`).toBe(true);
        if (!c.ok) continue;
        expect(c.delta).toBe(c.deltaPoly + c.deltaFp);
        expect(c.delta).toBeLessThanOrEqual(eps! / (eps! + rho!));
        expect(c.errBound).toBeLessThanOrEqual(eps! * (1 + 1e-12));
        expect(c.rank).toBe(rankFor(4, c.degree));
        const step = family === 'taylor-even' ? 2 : 1;
        if (c.degree >= step)
          expect(certifiedPolynomial(family, beta!, c.degree - step).deltaPoly).toBeGreaterThan(
            c.deltaRequired - c.deltaFp,
          );
      }
    }
  });

  it('includes the floating-point term (L + r)·u·Σ|c_t|β^t / min P', () => {
    const c = selectDegree({
      beta: 2,
      rhoMax: 1,
      epsilon: 1e-2,
      L: 21845,
      d: 16,
      family: 'minimax-rel',
      gMax: 12,
      rMax: 1e9,
    });
    if (!c.ok) throw new Error(c.reason);
    const spec =
      ((21845 + c.rank) * UNIT_ROUNDOFF * absCoeffSum(c.poly.coeffs, 2)) / ((1 - c.deltaPoly) * Math.exp(-2));
    expect(c.deltaFp).toBeGreaterThanOrEqual(spec);
    expect(c.deltaFp).toBeLessThan(spec * 1.5);
    expect(fpDelta(1e6, 1, 0, 1, 0, 2)).toBe(Infinity); // δ_poly ≥ 1 is unusable
  });

  it('refuses with the rank cap or the degree cap, and says which', () => {
    const rank = selectDegree({
      beta: 4,
      rhoMax: 1,
      epsilon: 1e-2,
      L: 680,
      d: 64,
      family: 'minimax-rel',
      gMax: 8,
      rMax: 5000,
    });
    expect(rank.ok).toBe(false);
    if (!rank.ok) {
      expect(rank.cap).toBe('rank');
      expect(rank.reason).toMatch(/rank cap: degree 3 would need rank 47905 > rMax 5000/);
    }
    const degree = selectDegree({
      beta: 4,
      rhoMax: 1,
      epsilon: 1e-2,
      L: 680,
      d: 2,
      family: 'taylor-even',
      gMax: 8,
      rMax: 5000,
    });
    expect(degree.ok).toBe(false);
    if (!degree.ok) {
      expect(degree.cap).toBe('degree');
      expect(degree.reason).toMatch(/degree cap: no taylor-even degree ≤ gMax 8/);
    }
  });

  it('rejects bad requests', () => {
    expect(() => selectDegree({ beta: 1, rhoMax: 1, epsilon: 0, L: 10, d: 2 })).toThrow(/epsilon/);
    expect(() => selectDegree({ beta: 1, rhoMax: 1, epsilon: 0.1, L: 10, d: 2, family: 'nope' as PolyFamily })).toThrow(
      /unknown polynomial family/,
    );
  });
});

describe('regime and cost model', () => {
  it('critical iff β ≥ ln L', () => {
    expect(isCriticalRegime(4, 30)).toBe(true);
    expect(isCriticalRegime(4, 680)).toBe(false);
    expect(isCriticalRegime(Math.log(100), 100)).toBe(true);
  });

  it('counts the query–key pairs of §1.2 / §3 (VAR-256, VAR-512, doubling ≈ 1.42 n^4)', () => {
    const ends = (pns: number[]) => pns.reduce<number[]>((a, p) => [...a, (a[a.length - 1] ?? 0) + p * p], []);
    expect(pyramidWork(ends([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]))).toBe(286434);
    expect(pyramidWork(ends([1, 2, 3, 4, 6, 9, 13, 18, 24, 32]))).toBe(3269850);
    const doubling = ends([1, 2, 4, 8, 16, 32, 64]);
    expect(doubling[doubling.length - 1]).toBe(5461);
    expect(pyramidWork(doubling) / 64 ** 4).toBeCloseTo(1.42, 1);
  });

  it('reproduces the §4.2 whole-generation cost ratios (VAR-256 d=16 g=2: 0.40; VAR-512 d=64 g=2: 1.5)', () => {
    const e256 = [1, 5, 14, 30, 55, 91, 155, 255, 424, 680];
    expect(lowrankCost(16, rankFor(16, 2), 'block-causal', 680) / exactCost(16, 'block-causal', e256)).toBeCloseTo(
      0.4,
      1,
    );
    const e512 = [1, 5, 14, 30, 66, 147, 316, 640, 1216, 2240];
    expect(lowrankCost(64, rankFor(64, 2), 'block-causal', 2240) / exactCost(64, 'block-causal', e512)).toBeCloseTo(
      1.5,
      1,
    );
    expect(lowrankCost(8, 10, 'none', 100)).toBe(100 * 10 * (2 * 8 + 3));
    expect(exactCost(8, 'none', [100])).toBe(100 * 100 * 17);
  });
});
