/**
 * One-shot attention (no mask, or VAR's block-causal mask through the prefix-state recurrence over
 * scales, which equals the masked low-rank attention D̃⁻¹((U1U2ᵀ)∘M)V exactly).
 *
 * The call is computed exactly, with no certificate and a reason in `exactReason`, when β ≥ ln L
 * (critical regime), when no degree within the caps certifies ε, or (exactWhenCheaper) when exact is
 * cheaper. Never a silent low-accuracy result.
 */
import { Tensor, type AttentionResult, type AttentionCertificate } from '@nextscale/core';
import {
  exactCost,
  isCriticalRegime,
  lowrankCost,
  selectDegree,
  visibleKeys,
  type AttendInputs,
} from '@nextscale/core/attention';
import { channelBound, fmt, makeCertificate, rowNormBeta, rowNormStats, ValueStats } from './certify.js';
import { exactRows } from './exact.js';
import { featureMap } from './features.js';
import { describeRows, SliceKernel } from './kernel.js';
import type { ResolvedOptions } from './options.js';

export function exactResult(x: AttendInputs, scale: number, reason: string): AttentionResult {
  const out = new Tensor([x.B, x.H, x.Lq, x.d]);
  const seen = visibleKeys(x.mask, x.Lk);
  for (let bh = 0; bh < x.B * x.H; bh++) {
    exactRows(
      x.q.data,
      bh * x.Lq * x.d,
      x.k.data,
      x.v.data,
      bh * x.Lk * x.d,
      seen,
      0,
      x.Lq,
      x.d,
      scale,
      out.data,
      bh * x.Lq * x.d,
    );
  }
  return { output: out, exactReason: reason };
}

export function attendOnce(
  x: AttendInputs,
  scale: number,
  logitBound: number | undefined,
  o: ResolvedOptions,
): AttentionResult {
  const { B, H, Lq, Lk, d, mask } = x;
  const BH = B * H;
  const qs = rowNormStats(x.q.data, BH, Lq, d);
  const ks = rowNormStats(x.k.data, BH, Lk, d);
  const betaMeasured = rowNormBeta(scale, qs.maxNorm, ks.maxNorm, d);
  const useBound = logitBound !== undefined && logitBound < betaMeasured;
  const beta = useBound ? logitBound : betaMeasured;
  const betaSource: AttentionCertificate['betaSource'] = useBound ? 'l2-static' : 'row-norm';
  const L = Lk;
  if (isCriticalRegime(beta, L)) {
    return exactResult(
      x,
      scale,
      `critical regime: beta = ${fmt(beta)} (${betaSource}) >= ln L = ${fmt(Math.log(L))} (L = ${L}); computed exactly`,
    );
  }
  const stats = new ValueStats(BH, d);
  stats.add(x.v.data, 0, Lk, Lk);
  const rhoMax = stats.rhoMax();
  const choice = selectDegree({ beta, rhoMax, epsilon: o.epsilon, L, d, family: o.family, gMax: o.gMax, rMax: o.rMax });
  if (!choice.ok) {
    return exactResult(
      x,
      scale,
      `cannot certify epsilon = ${o.epsilon} within the caps (gMax ${o.gMax}, rMax ${o.rMax}; beta = ${fmt(beta)}, value range ${fmt(rhoMax)}): ${choice.reason}; computed exactly`,
    );
  }
  const scaleEnds = mask.kind === 'block-causal' ? mask.scaleEnds : [Lk];
  const costLr = lowrankCost(d, choice.rank, mask.kind, Lk, Lq);
  const costEx = exactCost(d, mask.kind, scaleEnds, Lq);
  if (o.exactWhenCheaper && costEx <= costLr) {
    return exactResult(
      x,
      scale,
      `exact is cheaper for this call: C_ex = ${fmt(costEx)} <= C_lr = ${fmt(costLr)} (degree ${choice.degree}, rank ${choice.rank}); computed exactly`,
    );
  }

  const fm = featureMap(d, choice.poly.coeffs, scale, qs.maxNorm, ks.maxNorm);
  const kernel = new SliceKernel(fm, d, new Float64Array(choice.rank * (d + 1)));
  const centres = stats.midpoints();
  const minDenPerKey = (1 - choice.deltaPoly) * (1 - choice.deltaFp) * Math.exp(-beta) * (1 - 1e-12);
  const out = new Tensor([B, H, Lq, d]);
  const seen = visibleKeys(mask, Lk);
  const recomputed: string[] = [];
  for (let bh = 0; bh < BH; bh++) {
    const qBase = bh * Lq * d;
    const kvBase = bh * Lk * d;
    kernel.sums.reset();
    const failed: number[] = [];
    let start = 0;
    for (const end of scaleEnds) {
      kernel.fold(x.k.data, x.v.data, kvBase, start, end, centres, bh * d);
      const [i0, i1] = mask.kind === 'block-causal' ? [start, end] : [0, Lq];
      failed.push(...kernel.read(x.q.data, qBase, i0, i1, end, minDenPerKey, centres, bh * d, out.data, qBase));
      start = end;
    }
    for (const i of failed)
      exactRows(x.q.data, qBase, x.k.data, x.v.data, kvBase, seen, i, i + 1, d, scale, out.data, qBase);
    if (failed.length)
      recomputed.push(
        `batch ${Math.floor(bh / H)}, head ${bh % H}: rows ${describeRows(failed)} recomputed exactly (normaliser guard or non-finite output)`,
      );
  }

  const perChannel = new Float64Array(d);
  for (let bh = 0; bh < BH; bh++) {
    for (let c = 0; c < d; c++) {
      const i = bh * d + c;
      const rho = stats.rho(i);
      const maxAbs = Math.max(Math.abs(stats.min[i]), Math.abs(stats.max[i]));
      perChannel[c] = Math.max(
        perChannel[c],
        channelBound(choice.deltaPoly, choice.deltaFp, rho, stats.halfWidthAround(i, centres[i]), maxAbs),
      );
    }
  }
  const certificate = makeCertificate({
    beta,
    betaSource,
    Rentry: Math.max(qs.maxEntry, ks.maxEntry),
    family: choice.family,
    degree: choice.degree,
    rank: choice.rank,
    deltaPoly: choice.deltaPoly,
    deltaFp: choice.deltaFp,
    perChannel,
    estCostLowrank: costLr,
    estCostExact: costEx,
    recomputed,
    extra: {
      betaMeasured,
      betaEntry: Math.abs(scale) * d * qs.maxEntry * ks.maxEntry,
      certBeta: choice.poly.certBeta,
      epsilon: o.epsilon,
      deltaRequired: choice.deltaRequired,
      valueRangeMax: rhoMax,
    },
  });
  return { output: out, certificate };
}
