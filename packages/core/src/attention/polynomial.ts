/**
 * The shared mathematics of the polynomial method (docs/theory.md §3–§6): polynomial families
 * approximating e^x with a CERTIFIED relative error on [−β, β], certified degree selection with the
 * floating-point term, the feature rank, the cost model and the critical-regime test.
 *
 * Both the `norm` policy (core) and the `lowrank` backend use this module, so a decision and the
 * backend's certificate always agree on the numbers.
 *
 * Families:
 * - `taylor-even`: the even-degree Taylor polynomial; closed-form bound δ_T = e^β β^{g+1}/(g+1)!
 *   (Lagrange remainder), positive on all of R.
 * - `minimax-rel`: a relative-error minimax fit (Remez exchange on the Haar system x^t·e^{−x}), with the
 *   Chebyshev interpolant as the start and the fallback.
 * - `chebyshev`: the Chebyshev interpolant of e^x at g+1 Chebyshev nodes.
 * The last two are certified numerically: max |P(x)e^{−x} − 1| on a dense grid of [−β̄, β̄], plus a
 * rigorous margin between grid points from bounds on the first and second derivative of P(x)e^{−x},
 * plus the floating-point error of the evaluation. β̄ is the next point up on a geometric β-grid, so
 * the certified polynomials form a table computed on first use.
 */

export type PolyFamily = 'taylor-even' | 'minimax-rel' | 'chebyshev';
export const POLY_FAMILIES: readonly PolyFamily[] = ['taylor-even', 'minimax-rel', 'chebyshev'];

/** Unit roundoff of float64. */
export const UNIT_ROUNDOFF = 2 ** -53;
/** Unit roundoff of float32 (the output dtype). */
export const UNIT_ROUNDOFF_F32 = 2 ** -24;

export const DEFAULT_EPSILON = 1e-2;
export const DEFAULT_G_MAX = 8;
export const DEFAULT_R_MAX = 5000;
export const DEFAULT_FAMILY: PolyFamily = 'minimax-rel';
/** Largest degree any family supports (monomial-form conditioning is hopeless beyond it). */
export const G_LIMIT = 40;

/** A polynomial P(x) = Σ_t coeffs[t]·x^t with max_{|x| ≤ certBeta} |P(x)/e^x − 1| ≤ deltaPoly. */
export interface CertifiedPolynomial {
  family: PolyFamily;
  degree: number;
  /** Monomial coefficients c_0..c_g in x. */
  coeffs: Float64Array;
  /** Half-width of the interval on which deltaPoly is certified (≥ the β asked for). */
  certBeta: number;
  /** Certified relative error on [−certBeta, certBeta]; ≥ 1 means unusable. */
  deltaPoly: number;
}

// ---------------------------------------------------------------------------------------------------
// Rank

/** Number of monomials of degree ≤ g in d variables: binom(d+g, g). */
export function rankFor(d: number, g: number): number {
  let r = 1;
  for (let i = 1; i <= g; i++) r = (r * (d + i)) / i;
  return r < 2 ** 52 ? Math.round(r) : r;
}

// ---------------------------------------------------------------------------------------------------
// Families

/** Closed-form certified relative error of the degree-g Taylor polynomial on [−β, β]. */
export function taylorDelta(beta: number, g: number): number {
  let term = Math.exp(beta);
  for (let i = 1; i <= g + 1; i++) term *= beta / i;
  // Round up: the handful of roundings above are each ≤ u relative.
  return term * (1 + 4 * (g + 3) * UNIT_ROUNDOFF);
}

export function taylorCoeffs(g: number): Float64Array {
  const c = new Float64Array(g + 1);
  c[0] = 1;
  for (let t = 1; t <= g; t++) c[t] = c[t - 1] / t;
  return c;
}

/** Monomial coefficients in x of Σ_t b_t T_t(x/β). */
export function chebyshevToMonomial(b: ArrayLike<number>, beta: number): Float64Array {
  const n = b.length;
  const out = new Float64Array(n);
  let prev = new Float64Array(n); // T_{k-1}
  let cur = new Float64Array(n); // T_k
  prev[0] = 1;
  out[0] = b[0];
  if (n > 1) {
    cur[1] = 1;
    out[1] += b[1];
  }
  for (let k = 2; k < n; k++) {
    const next = new Float64Array(n);
    for (let t = 0; t < n; t++) next[t] = (t > 0 ? 2 * cur[t - 1] : 0) - prev[t];
    for (let t = 0; t < n; t++) out[t] += b[k] * next[t];
    prev = cur;
    cur = next;
  }
  let s = 1;
  for (let t = 0; t < n; t++) {
    out[t] /= s;
    s *= beta;
  }
  return out;
}

/** Chebyshev-basis coefficients (in y = x/β) of the interpolant of e^x at g+1 Chebyshev nodes. */
export function chebyshevInterpBasis(beta: number, g: number): Float64Array {
  const n = g + 1;
  const b = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const theta = (Math.PI * (j + 0.5)) / n;
    const f = Math.exp(beta * Math.cos(theta));
    for (let t = 0; t < n; t++) b[t] += f * Math.cos(t * theta);
  }
  for (let t = 0; t < n; t++) b[t] *= (t === 0 ? 1 : 2) / n;
  return b;
}

function chebT(b: ArrayLike<number>, y: number): number {
  // Clenshaw
  let b1 = 0;
  let b2 = 0;
  for (let k = b.length - 1; k >= 1; k--) {
    const t = 2 * y * b1 - b2 + b[k];
    b2 = b1;
    b1 = t;
  }
  return y * b1 - b2 + b[0];
}

function solveLinear(A: Float64Array[], rhs: Float64Array): Float64Array | undefined {
  const n = rhs.length;
  const M = A.map((row, i) => {
    const r = new Float64Array(n + 1);
    r.set(row);
    r[n] = rhs[i];
    return r;
  });
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(M[i][col]) > Math.abs(M[piv][col])) piv = i;
    if (!(Math.abs(M[piv][col]) > 1e-300)) return undefined;
    [M[col], M[piv]] = [M[piv], M[col]];
    const p = M[col];
    for (let i = col + 1; i < n; i++) {
      const row = M[i];
      const f = row[col] / p[col];
      if (f !== 0) for (let j = col; j <= n; j++) row[j] -= f * p[j];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * x[j];
    x[i] = s / M[i][i];
  }
  return x.every(Number.isFinite) ? x : undefined;
}

/**
 * Relative-error minimax fit of e^x on [−β, β] by Remez exchange: minimise max |P(x)e^{−x} − 1|.
 * Returns Chebyshev-basis coefficients in y = x/β, or undefined when the exchange breaks down (the
 * caller then uses the interpolant; certification does not depend on which one is used).
 */
export function minimaxRelBasis(beta: number, g: number): Float64Array | undefined {
  const n = g + 2;
  const relErr = (b: Float64Array, x: number) => chebT(b, x / beta) * Math.exp(-x) - 1;
  let ref = Array.from({ length: n }, (_, i) => -beta * Math.cos((Math.PI * i) / (n - 1)));
  let best: { b: Float64Array; err: number } | undefined;
  const N = 64 * n + 200;
  for (let iter = 0; iter < 40; iter++) {
    const A = ref.map((x, i) => {
      const row = new Float64Array(n);
      const y = x / beta;
      const e = Math.exp(-x);
      let tm1 = 1;
      let t = y;
      row[0] = e;
      if (g >= 1) row[1] = y * e;
      for (let k = 2; k <= g; k++) {
        const tn = 2 * y * t - tm1;
        tm1 = t;
        t = tn;
        row[k] = tn * e;
      }
      row[g + 1] = i % 2 === 0 ? 1 : -1;
      return row;
    });
    const sol = solveLinear(A, new Float64Array(n).fill(1));
    if (!sol) break;
    const b = sol.subarray(0, g + 1).slice();
    const E = Math.abs(sol[g + 1]);
    // Sample the error, split into sign runs, keep the largest |err| of each run.
    const xs = new Float64Array(N);
    const es = new Float64Array(N);
    let maxErr = 0;
    for (let i = 0; i < N; i++) {
      const x = i === N - 1 ? beta : -beta + (2 * beta * i) / (N - 1);
      xs[i] = x;
      es[i] = relErr(b, x);
      maxErr = Math.max(maxErr, Math.abs(es[i]));
    }
    if (!best || maxErr < best.err) best = { b, err: maxErr };
    if (maxErr - E <= 1e-6 * maxErr) break;
    const ext: { x: number; e: number; i: number }[] = [];
    for (let i = 0; i < N; i++) {
      const s = Math.sign(es[i]);
      const last = ext[ext.length - 1];
      if (last && Math.sign(last.e) === s) {
        if (Math.abs(es[i]) > Math.abs(last.e)) ext[ext.length - 1] = { x: xs[i], e: es[i], i };
      } else if (s !== 0) ext.push({ x: xs[i], e: es[i], i });
    }
    if (ext.length < n) break;
    while (ext.length > n) {
      if (Math.abs(ext[0].e) < Math.abs(ext[ext.length - 1].e)) ext.shift();
      else ext.pop();
    }
    // Refine interior extrema by golden-section search on |err| between grid neighbours.
    ref = ext.map(({ x, i }) => {
      if (i === 0 || i === N - 1) return x;
      let lo = xs[i - 1];
      let hi = xs[i + 1];
      const f = (z: number) => -Math.abs(relErr(b, z));
      const phi = (Math.sqrt(5) - 1) / 2;
      let c = hi - phi * (hi - lo);
      let d = lo + phi * (hi - lo);
      for (let k = 0; k < 40; k++) {
        if (f(c) < f(d)) hi = d;
        else lo = c;
        c = hi - phi * (hi - lo);
        d = lo + phi * (hi - lo);
      }
      return (lo + hi) / 2;
    });
    for (let i = 1; i < n; i++) if (!(ref[i] > ref[i - 1])) return best?.b;
  }
  return best?.b;
}

// ---------------------------------------------------------------------------------------------------
// Certification

function gamma(n: number): number {
  return (n * UNIT_ROUNDOFF) / (1 - n * UNIT_ROUNDOFF);
}

/** Σ_t |c_t| β^t: the size of the monomial sum, which sets the floating-point error. */
export function absCoeffSum(coeffs: ArrayLike<number>, beta: number): number {
  let s = 0;
  let p = 1;
  for (let t = 0; t < coeffs.length; t++) {
    s += Math.abs(coeffs[t]) * p;
    p *= beta;
  }
  return s * (1 + 2 * (coeffs.length + 1) * UNIT_ROUNDOFF);
}

/**
 * Taylor coefficients of P at x0 (p_k = P^{(k)}(x0)/k!) by repeated synthetic division, and the same
 * recurrence on |c| and |x0| (A_k), which bounds the rounding error of p_k by γ_{2g+8}·A_k.
 */
function taylorShift(c: ArrayLike<number>, x0: number, p: Float64Array, A: Float64Array): void {
  const g = c.length - 1;
  const ax = Math.abs(x0);
  for (let t = 0; t <= g; t++) {
    p[t] = c[t];
    A[t] = Math.abs(c[t]);
  }
  for (let k = 0; k < g; k++) {
    for (let j = g - 1; j >= k; j--) {
      p[j] += x0 * p[j + 1];
      A[j] += ax * A[j + 1];
    }
  }
}

/**
 * A rigorous upper bound on max_{|x| ≤ β} |P(x)e^{−x} − 1| (assuming Math.exp is accurate to 2 ulp).
 *
 * With f(x) = P(x)e^{−x} − 1 on a grid −β = x_0 < … < x_{N−1} = β: on each segment [x_i, x_i + h],
 * |f| ≤ max(|f(x_i)|, |f(x_{i+1})|) + (h/2)·sup|f'|, and f'(x_i + s) = e^{−x_i} e^{−s} Σ_k d_k s^k exactly,
 * where d_k are the Taylor coefficients at x_i of the polynomial P' − P; so sup|f'| ≤ e^{−x_i} Σ_k |d_k| h^k.
 * Every computed quantity carries its floating-point error bound. The local expansion keeps the bound
 * tight where e^{−x} is large (a global derivative bound would cost a factor ≈ e^{2β}).
 */
export function certifyRelativeError(coeffs: ArrayLike<number>, beta: number, gridPoints?: number): number {
  const g = coeffs.length - 1;
  const N = gridPoints ?? Math.max(4096, 64 * (g + 1) * (g + 1));
  const gam = gamma(2 * g + 8);
  const p = new Float64Array(g + 2);
  const A = new Float64Array(g + 2);
  let D = new Float64Array(g + 1);
  let Dprev = new Float64Array(g + 1);
  let bound = 0;
  let prevX = -beta;
  let prevF = 0;
  let prevE = 0;
  for (let i = 0; i < N; i++) {
    const x = i === N - 1 ? beta : i === 0 ? -beta : -beta + (2 * beta * i) / (N - 1);
    taylorShift(coeffs, x, p, A);
    p[g + 1] = 0;
    A[g + 1] = 0;
    const ex = Math.exp(-x);
    const eUp = ex * (1 + 4 * UNIT_ROUNDOFF);
    const val = p[0] * ex;
    const fUp = Math.abs(val - 1) + gam * A[0] * eUp + 4 * UNIT_ROUNDOFF * (Math.abs(val) + 1);
    for (let k = 0; k <= g; k++) {
      D[k] = Math.abs((k + 1) * p[k + 1] - p[k]) + gam * ((k + 1) * A[k + 1] + A[k]);
    }
    if (i === 0) {
      bound = fUp;
    } else {
      const h = (x - prevX) * (1 + 4 * UNIT_ROUNDOFF);
      let m1 = 0;
      let hk = 1;
      for (let k = 0; k <= g; k++) {
        m1 += Dprev[k] * hk;
        hk *= h;
      }
      const seg = (Math.max(prevF, fUp) + (h / 2) * m1 * prevE) * (1 + 8 * UNIT_ROUNDOFF);
      if (!(seg <= bound)) bound = Number.isNaN(seg) ? Infinity : seg;
    }
    [D, Dprev] = [Dprev, D];
    prevX = x;
    prevF = fUp;
    prevE = eUp;
  }
  return Number.isFinite(bound) ? bound : Infinity;
}

// ---------------------------------------------------------------------------------------------------
// The certified table

/** Geometric β-grid 2^{k/16}; certified polynomials are computed for the next grid point up. */
export const BETA_GRID_STEPS_PER_OCTAVE = 16;
const BETA_GRID_MIN = 2 ** -12;

export function betaGridUp(beta: number): number {
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new RangeError(`beta must be a finite number ≥ 0, got ${beta}`);
  if (beta <= BETA_GRID_MIN) return BETA_GRID_MIN;
  let k = Math.ceil(Math.log2(beta) * BETA_GRID_STEPS_PER_OCTAVE - 1e-9);
  let up = 2 ** (k / BETA_GRID_STEPS_PER_OCTAVE);
  while (up < beta) up = 2 ** (++k / BETA_GRID_STEPS_PER_OCTAVE);
  return up;
}

const table = new Map<string, CertifiedPolynomial>();

/** The certified polynomial of `family` and degree g for logits in [−β, β] (memoised table). */
export function certifiedPolynomial(family: PolyFamily, beta: number, g: number): CertifiedPolynomial {
  if (!Number.isInteger(g) || g < 0 || g > G_LIMIT)
    throw new RangeError(`degree must be an integer in [0, ${G_LIMIT}], got ${g}`);
  if (family === 'taylor-even') {
    if (g % 2 !== 0) throw new RangeError(`taylor-even needs an even degree, got ${g}`);
    return { family, degree: g, coeffs: taylorCoeffs(g), certBeta: beta, deltaPoly: taylorDelta(beta, g) };
  }
  if (family !== 'minimax-rel' && family !== 'chebyshev')
    throw new RangeError(`unknown polynomial family "${family as string}"`);
  const certBeta = betaGridUp(beta);
  const key = `${family}|${certBeta}|${g}`;
  const hit = table.get(key);
  if (hit) return hit;
  const interp = chebyshevToMonomial(chebyshevInterpBasis(certBeta, g), certBeta);
  let coeffs = interp;
  let deltaPoly = certifyRelativeError(interp, certBeta);
  if (family === 'minimax-rel') {
    const mm = minimaxRelBasis(certBeta, g);
    if (mm) {
      const c = chebyshevToMonomial(mm, certBeta);
      const dm = certifyRelativeError(c, certBeta);
      if (dm < deltaPoly) {
        coeffs = c;
        deltaPoly = dm;
      }
    }
  }
  const poly: CertifiedPolynomial = { family, degree: g, coeffs, certBeta, deltaPoly };
  table.set(key, poly);
  return poly;
}

/** Evaluates P(x) by Horner. */
export function evalPoly(coeffs: ArrayLike<number>, x: number): number {
  let p = 0;
  for (let t = coeffs.length - 1; t >= 0; t--) p = p * x + coeffs[t];
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Error budget and degree selection

/** Relative accuracy needed for an absolute error ε on values of range ρ: δ/(1−δ)·ρ ≤ ε ⇔ δ ≤ ε/(ε+ρ). */
export function requiredDelta(epsilon: number, rho: number): number {
  return epsilon / (epsilon + rho);
}

/** The channel bound δ/(1−δ)·ρ (docs/theory.md §4). */
export function errorBoundFor(delta: number, rho: number): number {
  return delta >= 1 ? Infinity : (delta / (1 - delta)) * rho;
}

/**
 * Floating-point term δ_fp = γ_n · Σ_t|c_t|β^t / min_{|x|≤β} P(x), with n = L + r + 6g + 12 roundings
 * on the longest accumulation chain (keys summed into the state, the rank-r read-out, the monomial
 * products and the coefficient split), γ_n = n·u/(1 − n·u), u = 2^-53, and min P ≥ (1−δ_poly)e^{−β}.
 * It bounds the relative error of every computed normaliser and (times the centred value range) of
 * every numerator.
 */
export function fpDelta(L: number, r: number, g: number, absSum: number, beta: number, deltaPoly: number): number {
  if (deltaPoly >= 1) return Infinity;
  const minP = (1 - deltaPoly) * Math.exp(-beta) * (1 - 4 * UNIT_ROUNDOFF);
  return (gamma(L + r + 6 * g + 12) * absSum) / minP;
}

export interface DegreeRequest {
  /** Bound on |τ·q·k|. */
  beta: number;
  /** Largest per-channel value range max_j V_jc − min_j V_jc (0 allowed). */
  rhoMax: number;
  /** Target absolute error. */
  epsilon: number;
  /** Largest number of keys one query sees (for δ_fp). */
  L: number;
  /** Head dimension (for the rank). */
  d: number;
  family?: PolyFamily;
  gMax?: number;
  rMax?: number;
}

export interface DegreeChoice {
  ok: true;
  family: PolyFamily;
  degree: number;
  rank: number;
  poly: CertifiedPolynomial;
  beta: number;
  deltaPoly: number;
  deltaFp: number;
  /** deltaPoly + deltaFp: the total certified relative error of every weight. */
  delta: number;
  deltaRequired: number;
  /** δ/(1−δ)·ρ_max: the a-priori bound on every output channel. */
  errBound: number;
}

export interface DegreeRefusal {
  ok: false;
  /** 'degree': no degree ≤ gMax certifies; 'rank': the next candidate degree needs rank > rMax. */
  cap: 'degree' | 'rank';
  reason: string;
  deltaRequired: number;
  /** The best certified total δ reached within the caps (Infinity if none). */
  bestDelta: number;
  /** The degree whose rank broke the cap (rank cap) or the last degree tried. */
  degree: number;
  rank: number;
}

/** Numbers in reasons: integers below 10^6 exactly, otherwise 3 significant digits. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  if (Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0)) return x.toExponential(2);
  return String(+x.toPrecision(3));
}
const fmt = formatNumber;

/** The smallest degree g (within the caps) with δ_poly(β, g) + δ_fp ≤ ε/(ε + ρ_max). */
export function selectDegree(req: DegreeRequest): DegreeChoice | DegreeRefusal {
  const family = req.family ?? DEFAULT_FAMILY;
  const gMax = req.gMax ?? DEFAULT_G_MAX;
  const rMax = req.rMax ?? DEFAULT_R_MAX;
  if (!POLY_FAMILIES.includes(family))
    throw new RangeError(`unknown polynomial family "${family}" (known: ${POLY_FAMILIES.join(', ')})`);
  if (!(req.epsilon > 0) || !Number.isFinite(req.epsilon))
    throw new RangeError(`epsilon must be a positive finite number, got ${req.epsilon}`);
  if (!Number.isInteger(gMax) || gMax < 0 || gMax > G_LIMIT)
    throw new RangeError(`gMax must be an integer in [0, ${G_LIMIT}], got ${gMax}`);
  if (!(rMax >= 1)) throw new RangeError(`rMax must be ≥ 1, got ${rMax}`);
  const deltaRequired = requiredDelta(req.epsilon, req.rhoMax);
  const step = family === 'taylor-even' ? 2 : 1;
  let bestDelta = Infinity;
  let last = { degree: 0, rank: 1 };
  for (let g = 0; g <= gMax; g += step) {
    const rank = rankFor(req.d, g);
    last = { degree: g, rank };
    if (rank > rMax) {
      return {
        ok: false,
        cap: 'rank',
        reason:
          `rank cap: degree ${g} would need rank ${fmt(rank)} > rMax ${rMax} (d = ${req.d}) before reaching δ ≤ ${fmt(deltaRequired)}` +
          (bestDelta < Infinity ? ` (best within the cap: δ = ${fmt(bestDelta)})` : ''),
        deltaRequired,
        bestDelta,
        degree: g,
        rank,
      };
    }
    const poly = certifiedPolynomial(family, req.beta, g);
    if (!(poly.deltaPoly < 1)) continue;
    const deltaFp = fpDelta(req.L, rank, g, absCoeffSum(poly.coeffs, req.beta), req.beta, poly.deltaPoly);
    const delta = poly.deltaPoly + deltaFp;
    bestDelta = Math.min(bestDelta, delta);
    if (delta < 1 && delta <= deltaRequired) {
      return {
        ok: true,
        family,
        degree: g,
        rank,
        poly,
        beta: req.beta,
        deltaPoly: poly.deltaPoly,
        deltaFp,
        delta,
        deltaRequired,
        errBound: errorBoundFor(delta, req.rhoMax),
      };
    }
  }
  return {
    ok: false,
    cap: 'degree',
    reason: `degree cap: no ${family} degree ≤ gMax ${gMax} certifies δ ≤ ${fmt(deltaRequired)} at beta = ${fmt(req.beta)} (best δ = ${fmt(bestDelta)})`,
    deltaRequired,
    bestDelta,
    degree: last.degree,
    rank: last.rank,
  };
}

// ---------------------------------------------------------------------------------------------------
// Regime and cost model (docs/theory.md §2, §5)

/** β ≥ ln L: the hard side of the phase transition, where the polynomial method cannot pay. */
export function isCriticalRegime(beta: number, L: number): boolean {
  return beta >= Math.log(L);
}

/** W = Σ_k h_k² L_{≤k}: query–key pairs of the block-causal pyramid. */
export function pyramidWork(scaleEnds: readonly number[]): number {
  let w = 0;
  let prev = 0;
  for (const e of scaleEnds) {
    w += (e - prev) * e;
    prev = e;
  }
  return w;
}

/** Exact attention flops: (2d+1)·W for the pyramid; Lq·Lk·(2d+1) without a mask. */
export function exactCost(d: number, mask: 'none' | 'block-causal', scaleEnds: readonly number[], Lq?: number): number {
  const L = scaleEnds[scaleEnds.length - 1] ?? 0;
  return mask === 'block-causal' ? (2 * d + 1) * pyramidWork(scaleEnds) : (Lq ?? L) * L * (2 * d + 1);
}

/** Low-rank flops: L·(2r(d+1) + 2r) through the prefix state; (Lq+Lk)·r·(d+1.5) (= n·r·(2d+3)) without a mask. */
export function lowrankCost(d: number, r: number, mask: 'none' | 'block-causal', L: number, Lq?: number): number {
  return mask === 'block-causal' ? L * (2 * r * (d + 1) + 2 * r) : ((Lq ?? L) + L) * r * (d + 1.5);
}
