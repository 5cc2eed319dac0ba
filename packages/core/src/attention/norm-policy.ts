/**
 * The norm-driven policy (docs/theory.md §8): per (site, head), from the head's logit bound β,
 * decide between the best exact backend and the `lowrank` backend, with a reason for every decision.
 *
 * 1. β unknown a priori (heads that are not l2-normalised) → exact, unless a cap is configured.
 * 2. β ≥ ln L → exact (critical regime).
 * 3. No degree ≤ gMax certifies ε → exact (degree cap; reported as the critical regime).
 * 4. r > rMax or r·(d+1) > 2·L·d → exact (rank/memory cap; reported as the critical regime).
 * 5. C_lr ≤ κ·C_ex → lowrank, else exact ("not profitable").
 * Heads with the same outcome form one HeadGroupDecision.
 */
import { UsageError } from '../errors.js';
import { packageForBackend } from '../plugs/registry.js';
import {
  bestExactBackend,
  explicitPolicy,
  priorityPolicy,
  type AttentionCall,
  type AttentionPolicy,
  type HeadBound,
  type HeadGroupDecision,
} from './policy.js';
import {
  DEFAULT_EPSILON,
  DEFAULT_FAMILY,
  DEFAULT_G_MAX,
  DEFAULT_R_MAX,
  exactCost,
  formatNumber,
  isCriticalRegime,
  lowrankCost,
  selectDegree,
  type PolyFamily,
} from './polynomial.js';

export interface NormPolicyOptions {
  /** Target absolute error (a call's own epsilon wins). Default 1e-2. */
  epsilon?: number;
  /** Degree cap. Default 8. */
  gMax?: number;
  /** Rank cap. Default 5000. */
  rMax?: number;
  /** Low-rank is chosen when C_lr ≤ κ·C_ex. Default 0.5 (covers constant factors). */
  kappa?: number;
  /** Id of the low-rank backend. Default 'lowrank'. */
  lowrankId?: string;
  /** Polynomial family used for the a-priori degree. Default 'minimax-rel' (the backend's default). */
  family?: PolyFamily;
  /**
   * Assumed per-channel value range ρ for the a-priori degree (values are unknown before the call;
   * the backend re-certifies each call with the measured range). Default 1.
   */
  valueRange?: number;
  /** A logit-bound cap to use for heads without a static bound (betaSource 'cap'); default: none. */
  betaCap?: number;
}

type Category =
  | 'unknown-bound'
  | 'critical'
  | 'degree-cap'
  | 'rank-cap'
  | 'memory-cap'
  | 'not-profitable'
  | 'lowrank'
  | 'not-installed';

/** One head's judgement: the decision's figures, before heads with the same outcome are grouped. */
interface HeadVerdict extends Omit<HeadGroupDecision, 'heads' | 'backend' | 'reason'> {
  head: number;
  category: Category;
  lowrank: boolean;
  detail: string;
}

const fmt = formatNumber;

export function normPolicy(options: NormPolicyOptions = {}): AttentionPolicy {
  const kappa = options.kappa ?? 0.5;
  const lowrankId = options.lowrankId ?? 'lowrank';
  const gMax = options.gMax ?? DEFAULT_G_MAX;
  const rMax = options.rMax ?? DEFAULT_R_MAX;
  const family = options.family ?? DEFAULT_FAMILY;
  const rho = options.valueRange ?? 1;

  function judge(call: AttentionCall, h: number, L: number, lowrankProblem: string | undefined): HeadVerdict {
    const epsilon = call.epsilon ?? options.epsilon ?? DEFAULT_EPSILON;
    const d = call.headDim;
    const known = call.headBounds?.[h];
    const bound: HeadBound | undefined =
      known ?? (options.betaCap !== undefined ? { beta: options.betaCap, source: 'cap' } : undefined);
    if (!bound) {
      return {
        head: h,
        category: 'unknown-bound',
        lowrank: false,
        detail:
          'logit bound unknown a priori (heads are not l2-normalised, so the bound is data-dependent; configure betaCap to allow low-rank)',
      };
    }
    const base = { head: h, beta: bound.beta, betaSource: bound.source };
    const costEx = exactCost(d, call.mask, call.scaleEnds);
    if (isCriticalRegime(bound.beta, L)) {
      return {
        ...base,
        category: 'critical',
        lowrank: false,
        regime: 'critical',
        estCostExact: costEx,
        detail: `beta >= ln L (critical regime): beta = ${fmt(bound.beta)} (${bound.source}) >= ln ${L} = ${fmt(Math.log(L))}`,
      };
    }
    const choice = selectDegree({ beta: bound.beta, rhoMax: rho, epsilon, L, d, family, gMax, rMax });
    if (!choice.ok) {
      return {
        ...base,
        category: choice.cap === 'rank' ? 'rank-cap' : 'degree-cap',
        lowrank: false,
        regime: 'critical',
        degree: choice.degree,
        rank: choice.rank,
        estCostExact: costEx,
        detail: `critical regime (beta = ${fmt(bound.beta)}, ${bound.source}; ε = ${epsilon}, value range ${rho}): ${choice.cap === 'rank' ? 'rank/memory cap' : 'degree cap'}: ${choice.reason}`,
      };
    }
    const r = choice.rank;
    const costLr = lowrankCost(d, r, call.mask, L);
    const common = {
      ...base,
      regime: 'subcritical' as const,
      degree: choice.degree,
      rank: r,
      errBound: choice.errBound,
      estCostLowrank: costLr,
      estCostExact: costEx,
    };
    const cert = `${family} degree ${choice.degree} certifies δ = ${fmt(choice.delta)} ≤ ${fmt(choice.deltaRequired)} (ε = ${epsilon}, value range ${rho}), rank ${fmt(r)}`;
    if (r * (d + 1) > 2 * L * d) {
      return {
        ...common,
        category: 'memory-cap',
        lowrank: false,
        regime: 'critical',
        detail: `critical regime (beta = ${fmt(bound.beta)}): rank/memory cap: state r·(d+1) = ${fmt(r * (d + 1))} floats > KV cache 2·L·d = ${fmt(2 * L * d)} (${cert})`,
      };
    }
    if (!(costLr <= kappa * costEx)) {
      return {
        ...common,
        category: 'not-profitable',
        lowrank: false,
        detail: `not profitable: C_lr = ${fmt(costLr)} > κ·C_ex = ${kappa}·${fmt(costEx)} (beta = ${fmt(bound.beta)}; ${cert})`,
      };
    }
    if (lowrankProblem) {
      return {
        ...common,
        category: 'not-installed',
        lowrank: false,
        detail: `${lowrankProblem}; low-rank would qualify (${cert})`,
      };
    }
    return {
      ...common,
      category: 'lowrank',
      lowrank: true,
      detail: `beta = ${fmt(bound.beta)} (${bound.source}) < ln L = ${fmt(Math.log(L))}; ${cert}; C_lr = ${fmt(costLr)} ≤ κ·C_ex = ${kappa}·${fmt(costEx)}`,
    };
  }

  return {
    name: 'norm',
    decide(call, available) {
      const L = call.scaleEnds[call.scaleEnds.length - 1] ?? 0;
      const lr = available.find((a) => a.descriptor.id === lowrankId);
      const lowrankProblem = !lr
        ? `low-rank backend "${lowrankId}" is not installed (install ${packageForBackend(lowrankId)} and import ${packageForBackend(lowrankId)}/register)`
        : !lr.probe.available
          ? `low-rank backend "${lowrankId}" is unavailable: ${lr.probe.reason}`
          : undefined;
      const verdicts = Array.from({ length: call.heads }, (_, h) => judge(call, h, L, lowrankProblem));
      let exactId: string | undefined;
      const exactBackend = () => (exactId ??= bestExactBackend(available));
      const groups = new Map<string, HeadVerdict[]>();
      for (const v of verdicts) {
        const key = `${v.lowrank}|${v.category}|${v.degree ?? ''}|${v.rank ?? ''}|${v.regime ?? ''}`;
        const list = groups.get(key);
        if (list) list.push(v);
        else groups.set(key, [v]);
      }
      return [...groups.values()].map((vs) => groupDecision(vs, vs[0].lowrank ? lowrankId : exactBackend()));
    },
  };
}

/** One decision for heads with the same outcome; the reason is the worst (largest β) head's. */
function groupDecision(vs: HeadVerdict[], backend: string): HeadGroupDecision {
  const worst = vs.reduce((a, b) => ((b.beta ?? -Infinity) > (a.beta ?? -Infinity) ? b : a));
  const max = (f: (v: HeadVerdict) => number | undefined) => {
    const xs = vs.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  const sum = (f: (v: HeadVerdict) => number | undefined) => {
    const xs = vs.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined;
  };
  const decision: HeadGroupDecision = {
    heads: vs.map((v) => v.head),
    backend,
    reason: vs[0].lowrank ? `lowrank: ${worst.detail}` : `exact (${backend}): ${worst.detail}`,
  };
  const fields: Partial<HeadGroupDecision> = {
    beta: max((v) => v.beta),
    betaSource: worst.betaSource,
    regime: worst.regime,
    degree: worst.degree,
    rank: worst.rank,
    errBound: max((v) => v.errBound),
    estCostLowrank: sum((v) => v.estCostLowrank),
    estCostExact: sum((v) => v.estCostExact),
  };
  for (const [k, v] of Object.entries(fields))
    if (v !== undefined) (decision as unknown as Record<string, unknown>)[k] = v;
  return decision;
}

export type PolicySpec =
  | { name: 'explicit'; backend: string }
  | { name: 'priority'; order?: readonly string[] }
  | ({ name: 'norm' } & NormPolicyOptions);

/** Builds a policy from a serialisable spec (config files, CLI flags). */
export function createPolicy(spec: PolicySpec): AttentionPolicy {
  switch (spec.name) {
    case 'explicit':
      return explicitPolicy(spec.backend);
    case 'priority':
      return priorityPolicy(spec.order);
    case 'norm': {
      const { name: _name, ...options } = spec;
      return normPolicy(options);
    }
    default:
      throw new UsageError(
        `unknown attention policy "${(spec as { name: string }).name}" (known: explicit, priority, norm)`,
      );
  }
}
