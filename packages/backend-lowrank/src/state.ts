/**
 * The incremental prefix state for next-scale inference (docs/theory.md §5):
 * S_k = S_{k−1} + φ_K(K_k)ᵀ[V_k − m, 1], updated BEFORE scale k's queries read it.
 *
 * One polynomial serves the whole generation. Its β is the state's logitBound when given (static for
 * l2-normalised heads), else a cap fixed at the first low-rank scale (measured row-norm bound ×
 * capFactor) and checked as each scale arrives. When the cap is exceeded, or the value range or the
 * prefix length outgrow the certified accuracy, the state is rebuilt from the stored prefix at a new
 * degree; when no degree within the caps certifies ε, the state computes exactly for the rest of the
 * generation. Every such event is reported: in the certificate's `events`, or in `exactReason`.
 *
 * The keys and values are also kept (float32, like an exact KV cache): rebuilds, guard recomputes,
 * exact scales and the exact fallback read them.
 */
import {
  Tensor,
  type AttentionCertificate,
  type AttentionResult,
  type AttentionState,
  type AttentionStateOptions,
  type TensorLike,
} from '@nextscale/core';
import {
  KVCache,
  fpDelta,
  absCoeffSum,
  isCriticalRegime,
  requiredDelta,
  selectDegree,
  type DegreeChoice,
} from '@nextscale/core/attention';
import { channelBound, fmt, makeCertificate, rowNormBeta, rowNormStats, ValueStats } from './certify.js';
import { exactRows } from './exact.js';
import { featureMap } from './features.js';
import { describeRows, SliceKernel } from './kernel.js';
import type { ResolvedOptions } from './options.js';

interface Plan {
  choice: DegreeChoice;
  beta: number;
  kernel: SliceKernel;
  /** (B·H) × r × (d+1) prefix sums. */
  S: Float64Array;
  centres: Float64Array;
  /** Tokens folded into S so far (folding is lazy: it happens when a scale reads low-rank). */
  folded: number;
  absSum: number;
}

export class LowrankState implements AttentionState {
  /** The keys and values themselves, for rebuilds, guard recomputes and exact scales. */
  private readonly cache: KVCache;
  private readonly BH: number;
  private readonly stats: ValueStats;
  private kNorm = 0;
  private kEntry = 0;
  private cap: number | undefined;
  private plan: Plan | undefined;
  private exactForever: string | undefined;
  private scaleIndex = 0;
  private readonly events: string[] = [];

  constructor(
    private readonly o: AttentionStateOptions,
    private readonly opts: ResolvedOptions,
  ) {
    this.BH = o.batch * o.heads;
    this.cache = new KVCache(o);
    this.stats = new ValueStats(this.BH, o.headDim);
  }

  get length(): number {
    return this.cache.length;
  }

  async append(k: TensorLike, v: TensorLike): Promise<void> {
    const { K, V, n } = this.cache.append(k, v);
    const ks = rowNormStats(K.data, this.BH, n, this.o.headDim);
    this.kNorm = Math.max(this.kNorm, ks.maxNorm);
    this.kEntry = Math.max(this.kEntry, ks.maxEntry);
    this.stats.add(V.data, 0, n, n);
  }

  private exact(Q: Tensor, reason: string): AttentionResult {
    const { headDim: d, scale } = this.o;
    const nq = Q.shape[2];
    const out = new Tensor([this.o.batch, this.o.heads, nq, d]);
    const all = () => this.length;
    for (let bh = 0; bh < this.BH; bh++) {
      exactRows(
        Q.data,
        bh * nq * d,
        this.cache.keys,
        this.cache.values,
        bh * this.cache.stride,
        all,
        0,
        nq,
        d,
        scale,
        out.data,
        bh * nq * d,
      );
    }
    return { output: out, exactReason: reason };
  }

  /** ρ_sel = max over slices and channels of max(ρ, 2·max|v − centre|): what the error budget must cover. */
  private rhoFor(centres: Float64Array | undefined): number {
    if (!centres) return this.stats.rhoMax();
    let m = 0;
    for (let i = 0; i < centres.length; i++)
      m = Math.max(m, this.stats.rho(i), 2 * this.stats.halfWidthAround(i, centres[i]));
    return m;
  }

  private buildPlan(choice: DegreeChoice, beta: number, qNorm: number): Plan {
    const d = this.o.headDim;
    const r = choice.rank;
    const fm = featureMap(d, choice.poly.coeffs, this.o.scale, qNorm, this.kNorm);
    const S = new Float64Array(this.BH * r * (d + 1));
    return {
      choice,
      beta,
      kernel: new SliceKernel(fm, d, S.subarray(0, r * (d + 1))),
      S,
      centres: this.stats.midpoints(),
      folded: 0,
      absSum: absCoeffSum(choice.poly.coeffs, beta),
    };
  }

  /** Why the current polynomial no longer certifies ε at this scale; undefined while it does. */
  private replanReason(plan: Plan, beta: number, L: number): string | undefined {
    if (plan.beta < beta) return `logit bound ${fmt(beta)} above the polynomial's ${fmt(plan.beta)}`;
    const dFp = fpDelta(L, plan.choice.rank, plan.choice.degree, plan.absSum, plan.beta, plan.choice.deltaPoly);
    const rho = this.rhoFor(plan.centres);
    const need = requiredDelta(this.opts.epsilon, rho);
    const have = plan.choice.deltaPoly + dFp;
    return have > need
      ? `value range ${fmt(rho)} and prefix ${L} need δ ≤ ${fmt(need)}, degree ${plan.choice.degree} gives ${fmt(have)}`
      : undefined;
  }

  async attend(q: TensorLike): Promise<AttentionResult> {
    const Q = this.cache.queries(q);
    const s = this.scaleIndex++;
    const { headDim: d, scale } = this.o;
    const nq = Q.shape[2];
    const L = this.length;
    if (this.exactForever) return this.exact(Q, this.exactForever);

    const qs = rowNormStats(Q.data, this.BH, nq, d);
    const betaMeasured = rowNormBeta(scale, qs.maxNorm, this.kNorm, d);
    let beta: number;
    let betaSource: AttentionCertificate['betaSource'];
    if (this.o.logitBound !== undefined) {
      beta = this.o.logitBound;
      betaSource = 'l2-static';
    } else {
      if (this.cap === undefined || betaMeasured > this.cap) {
        const next = betaMeasured * this.opts.capFactor;
        if (this.cap !== undefined)
          this.events.push(
            `scale ${s}: row-norm bound ${fmt(betaMeasured)} exceeded the cap ${fmt(this.cap)}; new cap ${fmt(next)}`,
          );
        this.cap = next;
      }
      beta = this.cap;
      betaSource = 'cap';
    }
    if (isCriticalRegime(beta, L)) {
      return this.exact(
        Q,
        `scale ${s}: critical regime at this prefix: beta = ${fmt(beta)} (${betaSource}) >= ln L = ${fmt(Math.log(L))} (L = ${L}); computed exactly`,
      );
    }

    // Keep the polynomial while it still certifies ε for this β, value range and prefix length.
    let plan = this.plan;
    const why = plan ? this.replanReason(plan, beta, L) : 'first low-rank scale';
    if (why !== undefined || !plan) {
      const rhoMax = this.stats.rhoMax();
      const choice = selectDegree({
        beta,
        rhoMax,
        epsilon: this.opts.epsilon,
        L,
        d,
        family: this.opts.family,
        gMax: this.opts.gMax,
        rMax: this.opts.rMax,
      });
      if (!choice.ok) {
        this.exactForever = `exact since scale ${s}: cannot certify epsilon = ${this.opts.epsilon} within the caps (gMax ${this.opts.gMax}, rMax ${this.opts.rMax}; beta = ${fmt(beta)}, value range ${fmt(rhoMax)}, L = ${L}): ${choice.reason}`;
        this.plan = undefined;
        if (plan) this.events.push(`scale ${s}: ${why}; switched to exact for the rest`);
        return this.exact(Q, this.exactForever);
      }
      if (plan)
        this.events.push(
          `scale ${s}: ${why}; prefix state rebuilt from ${L} stored tokens at degree ${choice.degree} (was ${plan.choice.degree})`,
        );
      plan = this.plan = this.buildPlan(choice, beta, qs.maxNorm);
    }
    const { choice } = plan;
    const r = choice.rank;
    const pending = L - plan.folded;
    const costLr = pending * r * (d + 2) + nq * r * (2 * d + 3);
    const costEx = nq * L * (2 * d + 1);
    if (this.opts.exactWhenCheaper && costEx <= costLr) {
      return this.exact(
        Q,
        `scale ${s}: exact is cheaper at this prefix: C_ex = ${fmt(costEx)} <= C_lr = ${fmt(costLr)} (degree ${choice.degree}, rank ${r}, L = ${L}); computed exactly`,
      );
    }

    const deltaFp = fpDelta(L, r, choice.degree, plan.absSum, plan.beta, choice.deltaPoly);
    const minDenPerKey = (1 - choice.deltaPoly) * (1 - deltaFp) * Math.exp(-plan.beta) * (1 - 1e-12);
    const out = new Tensor([this.o.batch, this.o.heads, nq, d]);
    const recomputed: string[] = [];
    const all = () => L;
    const block = r * (d + 1);
    const kernel = plan.kernel;
    for (let bh = 0; bh < this.BH; bh++) {
      const k = kernel.bind(plan.S.subarray(bh * block, (bh + 1) * block));
      const kvBase = bh * this.cache.stride;
      k.fold(this.cache.keys, this.cache.values, kvBase, plan.folded, L, plan.centres, bh * d);
      const failed = k.read(Q.data, bh * nq * d, 0, nq, L, minDenPerKey, plan.centres, bh * d, out.data, bh * nq * d);
      for (const i of failed)
        exactRows(
          Q.data,
          bh * nq * d,
          this.cache.keys,
          this.cache.values,
          kvBase,
          all,
          i,
          i + 1,
          d,
          scale,
          out.data,
          bh * nq * d,
        );
      if (failed.length)
        recomputed.push(
          `scale ${s}, batch ${Math.floor(bh / this.o.heads)}, head ${bh % this.o.heads}: rows ${describeRows(failed)} recomputed exactly (normaliser guard or non-finite output)`,
        );
    }
    plan.folded = L;

    const perChannel = new Float64Array(d);
    for (let bh = 0; bh < this.BH; bh++) {
      for (let c = 0; c < d; c++) {
        const i = bh * d + c;
        const maxAbs = Math.max(Math.abs(this.stats.min[i]), Math.abs(this.stats.max[i]));
        const U = this.stats.halfWidthAround(i, plan.centres[i]);
        perChannel[c] = Math.max(perChannel[c], channelBound(choice.deltaPoly, deltaFp, this.stats.rho(i), U, maxAbs));
      }
    }
    const certificate = makeCertificate({
      beta: plan.beta,
      betaSource,
      Rentry: Math.max(qs.maxEntry, this.kEntry),
      family: choice.family,
      degree: choice.degree,
      rank: r,
      deltaPoly: choice.deltaPoly,
      deltaFp,
      perChannel,
      estCostLowrank: costLr,
      estCostExact: costEx,
      recomputed,
      extra: {
        scaleIndex: s,
        prefixLength: L,
        betaMeasured,
        certBeta: choice.poly.certBeta,
        epsilon: this.opts.epsilon,
        events: [...this.events],
      },
    });
    return { output: out, certificate };
  }

  dispose(): void {
    this.cache.clear();
    this.plan = undefined;
  }
}
