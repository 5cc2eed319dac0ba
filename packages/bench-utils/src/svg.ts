/** Small dependency-free SVG charts for benchmark results. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];

export interface BarGroup {
  label: string;
  values: { series: string; value: number }[];
}

/** Grouped bars: one group per x label, one bar per series. */
export function barChart(title: string, yLabel: string, groups: BarGroup[]): string {
  const series = [...new Set(groups.flatMap((g) => g.values.map((v) => v.series)))];
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.values.map((v) => v.value)));
  const W = 640,
    H = 360,
    left = 70,
    right = 20,
    top = 40,
    bottom = 70;
  const plotW = W - left - right,
    plotH = H - top - bottom;
  const groupW = plotW / Math.max(1, groups.length);
  const barW = (groupW * 0.8) / Math.max(1, series.length);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<line x1="${left}" y1="${y}" x2="${W - right}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${v.toPrecision(3)}</text>`);
  }
  parts.push(
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + groupW * 0.1;
    g.values.forEach((v) => {
      const si = series.indexOf(v.series);
      const h = (plotH * v.value) / max;
      parts.push(
        `<rect x="${(x0 + si * barW).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${v.series} ${g.label}: ${v.value.toPrecision(4)}`)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  series.forEach((s, si) => {
    const x = left + si * 150;
    parts.push(
      `<rect x="${x}" y="${H - 24}" width="12" height="12" fill="${PALETTE[si % PALETTE.length]}"/><text x="${x + 16}" y="${H - 14}">${esc(s)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

/** Lines on log–log axes (a scaling study: time against sequence length). */
export function logLogChart(title: string, xLabel: string, yLabel: string, series: LineSeries[]): string {
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const W = 640,
    H = 400,
    left = 70,
    right = 20,
    top = 40,
    bottom = 80;
  const plotW = W - left - right,
    plotH = H - top - bottom;
  const lx = pts.map((p) => Math.log10(p.x)),
    ly = pts.map((p) => Math.log10(p.y));
  const [x0, x1] = [Math.floor(Math.min(...lx, 0)), Math.ceil(Math.max(...lx, 1))];
  const [y0, y1] = [Math.floor(Math.min(...ly, 0)), Math.ceil(Math.max(...ly, 1))];
  const X = (x: number) => left + ((Math.log10(x) - x0) / Math.max(1e-9, x1 - x0)) * plotW;
  const Y = (y: number) => top + plotH - ((Math.log10(y) - y0) / Math.max(1e-9, y1 - y0)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (let e = x0; e <= x1; e++) {
    const x = X(10 ** e);
    parts.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${top + plotH}" stroke="#ddd"/><text x="${x}" y="${top + plotH + 16}" text-anchor="middle">1e${e}</text>`,
    );
  }
  for (let e = y0; e <= y1; e++) {
    const y = Y(10 ** e);
    parts.push(
      `<line x1="${left}" y1="${y}" x2="${W - right}" y2="${y}" stroke="#ddd"/><text x="${left - 6}" y="${y + 4}" text-anchor="end">1e${e}</text>`,
    );
  }
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 36}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, si) => {
    const c = PALETTE[si % PALETTE.length];
    const p = s.points.filter((q) => q.x > 0 && q.y > 0);
    if (p.length)
      parts.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.map((q) => `${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const q of p) parts.push(`<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="3" fill="${c}"/>`);
    const x = left + si * 150;
    parts.push(
      `<rect x="${x}" y="${H - 24}" width="12" height="12" fill="${c}"/><text x="${x + 16}" y="${H - 14}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
