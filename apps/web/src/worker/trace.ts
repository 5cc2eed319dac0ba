/** The attention trace as table rows: one per site and head group, with the worst certified error of its calls. */
import type { AttentionTrace } from '@nextscale/core';
import type { TraceRow } from '../protocol.js';

/** [0,1,2,3,5] → "0-3,5". */
export function headRuns(h: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < h.length; ) {
    let j = i;
    while (j + 1 < h.length && h[j + 1] === h[j]! + 1) j++;
    runs.push(i === j ? `${h[i]}` : `${h[i]}-${h[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}

export function traceRows(trace: AttentionTrace): TraceRow[] {
  const worst = new Map<string, number>();
  for (const c of trace.entries) {
    if (c.scale === undefined || c.certifiedError === undefined) continue;
    const key = `${c.site}|${c.heads.join(',')}`;
    worst.set(key, Math.max(worst.get(key) ?? 0, c.certifiedError));
  }
  return trace.entries
    .filter((e) => e.scale === undefined)
    .map((e) => ({
      site: e.site,
      layer: e.layer ?? null,
      heads: headRuns(e.heads),
      backend: e.backend,
      beta: e.beta ?? null,
      betaSource: e.betaSource ?? null,
      regime: e.regime ?? null,
      certifiedError: worst.get(`${e.site}|${e.heads.join(',')}`) ?? e.certifiedError ?? null,
      reason: e.reason,
    }));
}
