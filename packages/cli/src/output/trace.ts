/** The attention decision trace for --explain (a table on stderr) and --json. */
import type { AttentionTrace, TraceEntry } from '@nextscale/core';
import { fmt, table } from './table.js';

function heads(h: number[]): string {
  if (!h.length) return '';
  const runs: string[] = [];
  let start = h[0];
  let prev = start;
  for (const x of [...h.slice(1), NaN]) {
    if (x === prev + 1) {
      prev = x;
      continue;
    }
    runs.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = prev = x;
  }
  return runs.join(',');
}

/** Decisions (one per site and head group) and, for approximate calls, the worst certified error. */
export function formatTrace(trace: AttentionTrace, policyName: string): string {
  const decisions = trace.entries.filter((e) => e.scale === undefined);
  const calls = trace.entries.filter((e) => e.scale !== undefined);
  const worst = new Map<string, number>();
  for (const c of calls) {
    const key = `${c.site}|${c.heads.join(',')}`;
    worst.set(key, Math.max(worst.get(key) ?? 0, c.certifiedError ?? 0));
  }
  const rows = decisions.map((e: TraceEntry) => [
    e.site,
    heads(e.heads),
    e.backend,
    e.beta === undefined ? '' : `${fmt(e.beta)}${e.betaSource ? ` (${e.betaSource})` : ''}`,
    e.regime ?? '',
    e.degree ?? '',
    e.rank ?? '',
    fmt(worst.get(`${e.site}|${e.heads.join(',')}`) ?? e.certifiedError ?? e.errBound),
    e.reason,
  ]);
  const summary = Object.entries(trace.summary())
    .map(([id, n]) => `${id}: ${n} head${n === 1 ? '' : 's'}`)
    .join(', ');
  return (
    `attention decisions (policy ${policyName}; ${summary || 'no attention calls'}; max certified error ${fmt(trace.maxCertifiedError) || '0'})\n` +
    table(['site', 'heads', 'backend', 'beta', 'regime', 'degree', 'rank', 'cert. error', 'reason'], rows)
  );
}

export function traceToJSON(trace: AttentionTrace, policyName: string): Record<string, unknown> {
  return {
    policy: policyName,
    summary: trace.summary(),
    maxCertifiedError: trace.maxCertifiedError,
    entries: trace.toJSON(),
  };
}
