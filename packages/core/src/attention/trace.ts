/**
 * The decision trace: one entry per policy decision (per site and head group) and one per approximate
 * call (with its certificate's error). Returned with every generation; printed by `--explain`.
 */
import type { AttentionCertificate } from './contract.js';
import type { HeadGroupDecision } from './policy.js';

export interface TraceEntry extends HeadGroupDecision {
  site: string;
  layer?: number;
  /** Scale index for per-call entries; absent for the decision made once per generation. */
  scale?: number;
  policy: string;
  /** Certified max abs error of this call (approximate backends only). */
  certifiedError?: number;
  certificate?: AttentionCertificate;
  /** Why an approximate backend computed this call exactly (no certificate then: the output is exact). */
  exactReason?: string;
  /** The dense engine whose fused transformer block computed this exact attention (models/var/fused-block.ts). */
  fusedIn?: string;
}

export class AttentionTrace {
  readonly entries: TraceEntry[] = [];

  add(entry: TraceEntry): void {
    this.entries.push(entry);
  }

  /** Largest certified error over all approximate calls (0 when everything was exact). */
  get maxCertifiedError(): number {
    return this.entries.reduce((m, e) => Math.max(m, e.certifiedError ?? 0), 0);
  }

  /** Backend id → number of heads decided for it, summed over sites. */
  summary(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.entries)
      if (e.scale === undefined) counts[e.backend] = (counts[e.backend] ?? 0) + e.heads.length;
    return counts;
  }

  toJSON(): TraceEntry[] {
    return this.entries.map(({ certificate, ...rest }) => rest);
  }
}
