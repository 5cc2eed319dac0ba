/**
 * What the certificate is made of: the measured logit bound, per-channel value statistics, the
 * per-channel error bound, and the certificate object itself (docs/theory.md §4).
 */
import { type AttentionCertificate } from '@nextscale/core';
import { formatNumber, UNIT_ROUNDOFF, UNIT_ROUNDOFF_F32, type PolyFamily } from '@nextscale/core/attention';

/** Max row ℓ2 norm and max |entry| over rows [row0, row1) of every (b, h) slice of x (B·H, L, d). */
export function rowNormStats(
  x: Float32Array,
  BH: number,
  L: number,
  d: number,
  row0 = 0,
  row1 = L,
  stride = L,
): { maxNorm: number; maxEntry: number } {
  let maxSq = 0;
  let maxEntry = 0;
  for (let bh = 0; bh < BH; bh++) {
    for (let i = row0; i < row1; i++) {
      const o = (bh * stride + i) * d;
      let s = 0;
      for (let c = 0; c < d; c++) {
        const z = x[o + c];
        s += z * z;
        const a = Math.abs(z);
        if (a > maxEntry) maxEntry = a;
      }
      if (s > maxSq) maxSq = s;
    }
  }
  return { maxNorm: Math.sqrt(maxSq), maxEntry };
}

/** β̂ = |τ|·max‖q‖·max‖k‖, rounded up over the float64 rounding of the norms. */
export function rowNormBeta(scale: number, qNorm: number, kNorm: number, d: number): number {
  return Math.abs(scale) * qNorm * kNorm * (1 + (2 * d + 16) * UNIT_ROUNDOFF);
}

/** Running per-(b·h, channel) min and max of the values. */
export class ValueStats {
  readonly min: Float64Array;
  readonly max: Float64Array;

  constructor(
    readonly BH: number,
    readonly d: number,
  ) {
    this.min = new Float64Array(BH * d).fill(Infinity);
    this.max = new Float64Array(BH * d).fill(-Infinity);
  }

  /** Adds rows [row0, row1) of every slice of v (B·H, stride, d). */
  add(v: Float32Array, row0: number, row1: number, stride: number): void {
    const { d, min, max } = this;
    for (let bh = 0; bh < this.BH; bh++) {
      for (let i = row0; i < row1; i++) {
        const o = (bh * stride + i) * d;
        for (let c = 0; c < d; c++) {
          const z = v[o + c];
          if (z < min[bh * d + c]) min[bh * d + c] = z;
          if (z > max[bh * d + c]) max[bh * d + c] = z;
        }
      }
    }
  }

  rho(i: number): number {
    return this.max[i] - this.min[i];
  }

  /** Largest range over every slice and channel. */
  rhoMax(): number {
    let m = 0;
    for (let i = 0; i < this.min.length; i++) m = Math.max(m, this.rho(i));
    return m;
  }

  /** Midpoints of the current ranges: the centres that make max |v − m| = ρ/2. */
  midpoints(): Float64Array {
    const m = new Float64Array(this.min.length);
    for (let i = 0; i < m.length; i++) m[i] = (this.min[i] + this.max[i]) / 2;
    return m;
  }

  /** max |v − m| over the values seen, per slice and channel. */
  halfWidthAround(i: number, centre: number): number {
    return Math.max(this.max[i] - centre, centre - this.min[i]);
  }
}

/**
 * The certified bound of one output channel:
 *   δP/(1−δP)·ρ            (polynomial error; Σ(w̃ − w) = 0 so only the range counts)
 * + 2δfp/(1−δfp)·U          (floating point, U = max |v − centre|; U = ρ/2 with midpoint centres,
 *                            so the two terms are ≤ δ/(1−δ)·ρ with δ = δP + δfp)
 * + (2^-24 + 8u)·(max|v| + the above)   (float32 rounding of the output).
 */
export function channelBound(deltaPoly: number, deltaFp: number, rho: number, U: number, maxAbs: number): number {
  const core = (deltaPoly / (1 - deltaPoly)) * rho + ((2 * deltaFp) / (1 - deltaFp)) * U;
  return core + (UNIT_ROUNDOFF_F32 + 8 * UNIT_ROUNDOFF) * (maxAbs + core);
}

export interface CertificateInput {
  beta: number;
  betaSource: AttentionCertificate['betaSource'];
  Rentry: number;
  family: PolyFamily;
  degree: number;
  rank: number;
  deltaPoly: number;
  deltaFp: number;
  perChannel: Float64Array;
  estCostLowrank: number;
  estCostExact: number;
  recomputed: string[];
  extra?: Record<string, unknown>;
}

export function makeCertificate(x: CertificateInput): AttentionCertificate {
  const errBoundPerChannel = Array.from(x.perChannel);
  return {
    backend: 'lowrank',
    beta: x.beta,
    betaSource: x.betaSource,
    Rentry: x.Rentry,
    regime: 'subcritical',
    family: x.family,
    degree: x.degree,
    rank: x.rank,
    deltaPoly: x.deltaPoly,
    deltaFp: x.deltaFp,
    errBoundPerChannel,
    errBoundMax: errBoundPerChannel.reduce((a, b) => Math.max(a, b), 0),
    estCostLowrank: x.estCostLowrank,
    estCostExact: x.estCostExact,
    guardTripped: x.recomputed.length > 0,
    recomputed: x.recomputed,
    ...x.extra,
  };
}

/** Formats a number for reasons and events (core's formatNumber). */
export const fmt = formatNumber;
