/**
 * Polynomial feature maps (docs/theory.md §3): φ_Q, φ_K : R^d → R^r with
 * ⟨φ_Q(q), φ_K(k)⟩ = P(τ⟨q, k⟩) = Σ_t c_t τ^t Σ_{|α|=t} (t!/α!) q^α k^α,
 * over the r = binom(d+g, g) symmetric monomials of degree ≤ g.
 *
 * Each monomial is a lower one times one coordinate (the sorted-multiset enumeration), so a feature
 * vector costs two multiplies per monomial. The multinomial weight √(t!/α!) is carried along the same
 * chain, the coefficient is split as sign(c_t)·√|c_t| (query side) and √|c_t| (key side), and the
 * inputs are rescaled so that ‖q̂‖, ‖k̂‖ ≤ √β: both sides stay well scaled.
 */
import { rankFor } from '@nextscale/core/attention';

export interface MonomialTable {
  d: number;
  g: number;
  r: number;
  /** For monomial m ≥ 1: monomial(m) = monomial(parent[m]) · x[coord[m]] · mult[m]. */
  parent: Int32Array;
  coord: Int32Array;
  /** √(t / α_i): the step of the multinomial weight √(t!/α!) along the chain. */
  mult: Float64Array;
  degree: Uint8Array;
}

const tables = new Map<string, MonomialTable>();

export function monomialTable(d: number, g: number): MonomialTable {
  const key = `${d}|${g}`;
  const hit = tables.get(key);
  if (hit) return hit;
  const r = rankFor(d, g);
  if (!Number.isSafeInteger(r) || r > 2 ** 26)
    throw new RangeError(`rank binom(${d}+${g}, ${g}) = ${r} is too large to materialise`);
  const parent = new Int32Array(r);
  const coord = new Int32Array(r);
  const mult = new Float64Array(r);
  const degree = new Uint8Array(r);
  const last = new Int32Array(r); // largest coordinate of the monomial
  const run = new Int32Array(r); // multiplicity of that coordinate
  mult[0] = 1;
  let m = 1;
  let levelStart = 0;
  let levelEnd = 1;
  for (let t = 1; t <= g; t++) {
    for (let p = levelStart; p < levelEnd; p++) {
      for (let i = t === 1 ? 0 : last[p]; i < d; i++) {
        const k = t > 1 && last[p] === i ? run[p] + 1 : 1;
        parent[m] = p;
        coord[m] = i;
        last[m] = i;
        run[m] = k;
        degree[m] = t;
        mult[m] = Math.sqrt(t / k);
        m++;
      }
    }
    levelStart = levelEnd;
    levelEnd = m;
  }
  if (m !== r) throw new Error(`internal: enumerated ${m} monomials, expected ${r}`);
  const table = { d, g, r, parent, coord, mult, degree };
  tables.set(key, table);
  return table;
}

export interface FeatureMap {
  table: MonomialTable;
  /** Per-monomial weights sign(c_t)·√|c_t| (queries) and √|c_t| (keys). */
  wq: Float64Array;
  wk: Float64Array;
  /** Input scalings with aq·ak = τ and ‖aq·q‖, ‖ak·k‖ ≤ √β. */
  aq: number;
  ak: number;
}

/** The feature map for P (monomial coefficients in the logit) at softmax scale τ. */
export function featureMap(
  d: number,
  coeffs: Float64Array,
  scale: number,
  qNormMax: number,
  kNormMax: number,
): FeatureMap {
  const g = coeffs.length - 1;
  const table = monomialTable(d, g);
  const wq = new Float64Array(table.r);
  const wk = new Float64Array(table.r);
  for (let m = 0; m < table.r; m++) {
    const c = coeffs[table.degree[m]]!;
    const s = Math.sqrt(Math.abs(c));
    wq[m] = c < 0 ? -s : s;
    wk[m] = s;
  }
  const t = Math.abs(scale);
  const sign = scale < 0 ? -1 : 1;
  const balanced = qNormMax > 0 && kNormMax > 0;
  const aq = sign * Math.sqrt(balanced ? (t * kNormMax) / qNormMax : t);
  const ak = Math.sqrt(balanced ? (t * qNormMax) / kNormMax : t);
  return { table, wq, wk, aq, ak };
}

/**
 * Features of n rows of x (row-major (·, d) at `off`) into out (n × r at 0), scaled by `a` and
 * weighted by `w`. `xs` is scratch of length d.
 */
export function featurize(
  x: Float32Array,
  off: number,
  n: number,
  a: number,
  w: Float64Array,
  table: MonomialTable,
  out: Float64Array,
  xs: Float64Array,
): void {
  const { d, r, parent, coord, mult } = table;
  for (let j = 0; j < n; j++) {
    const xo = off + j * d;
    for (let i = 0; i < d; i++) xs[i] = x[xo + i] * a;
    const o = j * r;
    out[o] = 1;
    for (let m = 1; m < r; m++) out[o + m] = out[o + parent[m]]! * xs[coord[m]]! * mult[m];
    for (let m = 0; m < r; m++) out[o + m] *= w[m];
  }
}
