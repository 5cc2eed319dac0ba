/**
 * The attention trace as table rows: one per site and head group. β and the regime come from the policy's
 * decision, or (an explicit policy decides without them) from the worst certificate of that group's calls.
 */
import type { AttentionCertificate, AttentionTrace } from '@nextscale/core';
import type { TraceRow } from '../protocol.js';

/** [0,1,2,3,5] → "0-3,5". */
export function headRuns(h: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < h.length; ) {
    let j = i;
    while (j + 1 < h.length && h[j + 1] === h[j] + 1) j++;
    runs.push(i === j ? `${h[i]}` : `${h[i]}-${h[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}

export function traceRows(trace: AttentionTrace): TraceRow[] {
  const worst = new Map<string, { err: number; cert?: AttentionCertificate }>();
  for (const c of trace.entries) {
    if (c.scale === undefined || c.certifiedError === undefined) continue;
    const key = `${c.site}|${c.heads.join(',')}`;
    if (c.certifiedError >= (worst.get(key)?.err ?? -1)) worst.set(key, { err: c.certifiedError, cert: c.certificate });
  }
  return trace.entries
    .filter((e) => e.scale === undefined)
    .map((e) => {
      const w = worst.get(`${e.site}|${e.heads.join(',')}`);
      return {
        site: e.site,
        layer: e.layer ?? null,
        heads: headRuns(e.heads),
        backend: e.backend,
        beta: e.beta ?? w?.cert?.beta ?? null,
        betaSource: e.betaSource ?? w?.cert?.betaSource ?? null,
        regime: e.regime ?? w?.cert?.regime ?? null,
        certifiedError: w?.err ?? e.certifiedError ?? null,
        reason: e.reason,
      };
    });
}
