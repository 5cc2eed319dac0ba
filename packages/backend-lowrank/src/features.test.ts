import { describe, expect, it } from 'vitest';
import { Rng } from '@nextscale/core';
import { certifiedPolynomial, evalPoly, rankFor, type PolyFamily } from '@nextscale/core/attention';
import { wasmPrefixKernel } from './wasm/prefix-kernel.js';
import { featureMap, featurize, monomialTable } from './features.js';

describe('monomial table', () => {
  it('enumerates binom(d+g, g) distinct sorted monomials, each a lower one times one coordinate', () => {
    for (const [d, g] of [
      [1, 6],
      [3, 4],
      [16, 3],
    ] as const) {
      const t = monomialTable(d, g);
      expect(t.r).toBe(rankFor(d, g));
      const seen = new Set<string>();
      const multiset: number[][] = [[]];
      for (let m = 1; m < t.r; m++) {
        expect(t.parent[m]).toBeLessThan(m);
        expect(t.degree[m]).toBe(t.degree[t.parent[m]]! + 1);
        multiset[m] = [...multiset[t.parent[m]]!, t.coord[m]];
        const key = multiset[m].join(',');
        expect(multiset[m]).toEqual([...multiset[m]].sort((a, b) => a - b));
        expect(seen.has(key)).toBe(false);
        seen.add(key);
      }
    }
  });
});

describe('feature maps', () => {
  it('⟨φ_Q(q), φ_K(k)⟩ = P(τ⟨q, k⟩) for every family, degree and sign of τ', () => {
    const rng = new Rng(11);
    for (const family of ['taylor-even', 'minimax-rel', 'chebyshev'] as PolyFamily[]) {
      for (const d of [1, 2, 3, 5, 8]) {
        for (const g of family === 'taylor-even' ? [0, 2, 4, 6] : [0, 1, 2, 3, 5]) {
          for (const tau of [0.7, -0.3]) {
            const q = Float32Array.from({ length: d }, () => rng.normal());
            const k = Float32Array.from({ length: d }, () => rng.normal() * 3);
            const qn = Math.hypot(...q);
            const kn = Math.hypot(...k);
            const beta = Math.abs(tau) * qn * kn;
            const poly = certifiedPolynomial(family, beta, g);
            const fm = featureMap(d, poly.coeffs, tau, qn, kn);
            const r = fm.table.r;
            const fq = new Float64Array(r);
            const fk = new Float64Array(r);
            featurize(q, 0, 1, fm.aq, fm.wq, fm.table, fq, new Float64Array(d));
            featurize(k, 0, 1, fm.ak, fm.wk, fm.table, fk, new Float64Array(d));
            let dot = 0;
            for (let m = 0; m < r; m++) dot += fq[m] * fk[m];
            let qk = 0;
            for (let c = 0; c < d; c++) qk += q[c] * k[c];
            const want = evalPoly(poly.coeffs, tau * qk);
            expect(Math.abs(dot - want), `${family} d=${d} g=${g} τ=${tau}`).toBeLessThanOrEqual(
              1e-12 * Math.max(1, Math.abs(want)) * Math.exp(2 * beta),
            );
          }
        }
      }
    }
  });

  it('balances the two sides: Σ_α (t!/α!) q̂^{2α} = ‖q̂‖^{2t} with ‖q̂‖ = ‖k̂‖ = √β', () => {
    const d = 6;
    const q = Float32Array.from([0.1, -0.2, 0.05, 0.3, 0, 0.1]);
    const k = Float32Array.from([4, 1, -3, 2, 2, -1]);
    const qn = Math.hypot(...q);
    const kn = Math.hypot(...k);
    const tau = 0.5;
    const beta = tau * qn * kn;
    const ones = new Float64Array(monomialTable(d, 4).r).fill(1);
    const fm = featureMap(d, Float64Array.from([1, 1, 1, 1, 1]), tau, qn, kn);
    for (const [x, a] of [
      [q, fm.aq],
      [k, fm.ak],
    ] as const) {
      const f = new Float64Array(fm.table.r);
      featurize(x, 0, 1, a, ones, fm.table, f, new Float64Array(d));
      const perDegree = [0, 0, 0, 0, 0];
      for (let m = 0; m < fm.table.r; m++) perDegree[fm.table.degree[m]] += f[m] * f[m];
      perDegree.forEach((s, t) => expect(s).toBeCloseTo(beta ** t, 10));
    }
  });
});

describe('featurize in WebAssembly', () => {
  it("gives bitwise the JavaScript chain's features", () => {
    const rng = new Rng(9);
    for (const [d, g, n] of [
      [16, 2, 7],
      [64, 2, 5],
      [3, 4, 9],
      [1, 6, 2],
    ] as const) {
      const table = monomialTable(d, g);
      const w = Float64Array.from(rng.normalArray(table.r));
      const x = Float32Array.from(rng.normalArray((n + 1) * d));
      const js = new Float64Array(n * table.r);
      featurize(x, d, n, 0.7, w, table, js, new Float64Array(d));
      const wasm = new Float64Array(n * table.r);
      wasmPrefixKernel()!.featurize(x, d, n, d, 0.7, w, table, wasm);
      expect(Array.from(wasm), `d=${d} g=${g}`).toEqual(Array.from(js));
    }
  });
});
