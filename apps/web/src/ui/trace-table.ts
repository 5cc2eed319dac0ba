/** The attention trace as a table: one row per site and head group. */
import type { TraceRow } from '../protocol.js';

const fmt = (x: number | null) =>
  x === null ? '' : Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toFixed(3) : x.toExponential(2);

export function renderTrace(
  body: HTMLTableSectionElement,
  summary: HTMLElement,
  rows: TraceRow[],
  policy: string,
  engine: string,
): void {
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      const cells = [
        r.site,
        r.heads,
        r.backend,
        r.beta === null ? '' : `${fmt(r.beta)}${r.betaSource ? ` (${r.betaSource})` : ''}`,
        r.regime ?? '',
        r.certifiedError === null ? 'exact' : fmt(r.certifiedError),
        r.reason,
      ];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) td.setAttribute('scope', 'row');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.backend, (counts.get(r.backend) ?? 0) + 1);
  const worst = rows.reduce((m, r) => Math.max(m, r.certifiedError ?? 0), 0);
  summary.textContent = `policy ${policy}, engine ${engine}; ${[...counts].map(([b, n]) => `${b}: ${n} site/head group${n === 1 ? '' : 's'}`).join(', ') || 'no attention calls'}; max certified error ${worst ? fmt(worst) : '0 (all exact)'}`;
}
