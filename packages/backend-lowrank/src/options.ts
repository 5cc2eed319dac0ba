/**
 * Options of the lowrank backend: instance defaults from create(), overridable per attend() call and
 * per state.
 */
import { UsageError, type AttendSpec, type AttentionStateOptions } from '@nextscale/core';
import {
  DEFAULT_EPSILON,
  DEFAULT_FAMILY,
  DEFAULT_G_MAX,
  DEFAULT_R_MAX,
  G_LIMIT,
  POLY_FAMILIES,
  type PolyFamily,
} from '@nextscale/core/attention';

export interface LowrankOptions {
  /** Target absolute error of every output entry. Default 1e-2. */
  epsilon?: number;
  /** Polynomial family. Default 'minimax-rel'. */
  family?: PolyFamily;
  /** Degree cap. Default 8. */
  gMax?: number;
  /** Rank cap. Default 5000. */
  rMax?: number;
  /**
   * States without a logitBound fix a cap on β at the first low-rank scale: the measured row-norm
   * bound times this factor (≥ 1), so later scales with slightly larger norms fit. Default 1.25.
   */
  capFactor?: number;
  /**
   * Compute a call (or one scale of a state) exactly when the cost model says exact is cheaper. The
   * result then has no certificate and says why in `exactReason`. Default false: choosing this
   * backend (explicitly, or through the norm policy, which already weighed the cost) asks for
   * low-rank wherever it can be certified.
   */
  exactWhenCheaper?: boolean;
}

export type ResolvedOptions = Required<LowrankOptions>;

/** A call spec with the backend's per-call overrides. */
export interface LowrankAttendSpec extends AttendSpec, Omit<LowrankOptions, 'epsilon'> {}

/** State options with the backend's per-state overrides. */
export interface LowrankStateOptions extends AttentionStateOptions, Omit<LowrankOptions, 'epsilon'> {}

export const DEFAULT_OPTIONS: ResolvedOptions = {
  epsilon: DEFAULT_EPSILON,
  family: DEFAULT_FAMILY,
  gMax: DEFAULT_G_MAX,
  rMax: DEFAULT_R_MAX,
  capFactor: 1.25,
  exactWhenCheaper: false,
};

/** Merges defined fields of `over` into `base` and validates the result. */
export function resolveOptions(
  base: ResolvedOptions,
  over: LowrankOptions | undefined,
  where: string,
): ResolvedOptions {
  const o = { ...base };
  if (over) {
    for (const key of Object.keys(DEFAULT_OPTIONS) as (keyof LowrankOptions)[]) {
      if (over[key] !== undefined) (o as Record<string, unknown>)[key] = over[key];
    }
  }
  const bad = (what: string) => new UsageError(`lowrank ${where}: ${what}`);
  if (!(typeof o.epsilon === 'number' && o.epsilon > 0 && Number.isFinite(o.epsilon)))
    throw bad(`epsilon must be a positive finite number, got ${o.epsilon}`);
  if (!POLY_FAMILIES.includes(o.family))
    throw bad(`family must be one of ${POLY_FAMILIES.join(', ')}, got "${o.family}"`);
  if (!Number.isInteger(o.gMax) || o.gMax < 0 || o.gMax > G_LIMIT)
    throw bad(`gMax must be an integer in [0, ${G_LIMIT}], got ${o.gMax}`);
  if (!(typeof o.rMax === 'number' && o.rMax >= 1)) throw bad(`rMax must be a number ≥ 1, got ${o.rMax}`);
  if (!(typeof o.capFactor === 'number' && o.capFactor >= 1 && Number.isFinite(o.capFactor)))
    throw bad(`capFactor must be a finite number ≥ 1, got ${o.capFactor}`);
  if (typeof o.exactWhenCheaper !== 'boolean')
    throw bad(`exactWhenCheaper must be a boolean, got ${o.exactWhenCheaper}`);
  return o;
}

export function checkLogitBound(b: number | undefined, where: string): void {
  if (b !== undefined && !(typeof b === 'number' && b >= 0 && Number.isFinite(b))) {
    throw new UsageError(`lowrank ${where}: logitBound must be a finite number ≥ 0, got ${b}`);
  }
}
