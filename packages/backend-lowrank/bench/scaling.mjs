// Scaling study: the lowrank prefix state against the exact CPU backend over a doubling pyramid
// (scales 1, 2, 4, …, n; L = Σ 4^k up to 21,845 at n = 128), head dims 16 and 64, logit bounds
// β ∈ {0.25, 0.5, 1, 2, 4}, ε = 1e-2, values ~ N(0, 1), queries and keys on the unit sphere with
// softmax scale τ = β (so the logit bound is exactly β, as for l2-normalised heads).
//
// A plain script, not a test. After `pnpm build` (core, backend-cpu, backend-lowrank), with the exact baseline
// registered by the caller (`nextscale bench` does this):
//   node --import @nextscale/backend-cpu/register bench/scaling.mjs [--out bench-results/] [--quick] [--reps 3] [--exact-limit 60]
//                          [--dims 16,64] [--betas 0.25,0.5,1,2,4] [--ns 8,16,32,64,128]
// Writes scaling.json, scaling.md and scaling.svg to --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Rng, Tensor } from '@nextscale/core';
import { createRegisteredBackend, pyramidWork } from '@nextscale/core/attention';
import { createLowrankAttention } from '../dist/index.js';

// ------------------------------------------------------------------------------------------------
// Arguments

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const list = (s) => s.split(',').map(Number);
const quick = flag('quick');
const outDir = resolve(opt('out', 'bench-results'));
const reps = Number(opt('reps', quick ? 1 : 3));
const exactLimit = Number(opt('exact-limit', 60));
const dims = list(opt('dims', quick ? '16' : '16,64'));
const betas = list(opt('betas', quick ? '0.25,0.5,2' : '0.25,0.5,1,2,4'));
const ns = list(opt('ns', quick ? '8,16,32' : '8,16,32,64,128'));
const epsilon = Number(opt('epsilon', 1e-2));

// ------------------------------------------------------------------------------------------------
// Helpers

function machine() {
  const cpu = os.cpus()[0];
  return {
    cpu: cpu?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Least-squares slope of log(y) against log(x). */
function logLogSlope(points) {
  const p = points.filter(([x, y]) => x > 0 && y > 0);
  if (p.length < 2) return null;
  const xs = p.map(([x]) => Math.log(x));
  const ys = p.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

function pyramid(n) {
  const ends = [];
  let e = 0;
  for (let s = 1; s <= n; s *= 2) ends.push((e += s * s));
  return ends;
}

function unitRows(rng, L, d) {
  const a = new Float32Array(L * d);
  for (let i = 0; i < L; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) {
      const z = rng.normal();
      a[i * d + c] = z;
      s += z * z;
    }
    const inv = 1 / Math.sqrt(s);
    for (let c = 0; c < d; c++) a[i * d + c] *= inv;
  }
  return a;
}

const rows = (t, d, i0, i1) => new Tensor([1, 1, i1 - i0, d], t.subarray(i0 * d, i1 * d));

/** Runs one generation through an incremental state; returns seconds, the concatenated output and per-scale results. */
async function generate(att, stateOptions, q, k, v, ends, d) {
  const L = ends[ends.length - 1];
  const out = new Float32Array(L * d);
  const results = [];
  const t0 = performance.now();
  const st = att.createState(stateOptions);
  let start = 0;
  for (const end of ends) {
    await st.append(rows(k, d, start, end), rows(v, d, start, end));
    const r = await st.attend(rows(q, d, start, end));
    out.set(r.output.data, start * d);
    results.push(r);
    start = end;
  }
  const seconds = (performance.now() - t0) / 1000;
  st.dispose();
  return { seconds, out, results };
}

/** Query rows to check against a float64 reference: up to 96 per scale (all of the small scales). */
function sampleRows(rng, ends) {
  const picks = [];
  let start = 0;
  for (const end of ends) {
    const n = end - start;
    if (n <= 96) for (let i = start; i < end; i++) picks.push([i, end]);
    else for (let t = 0; t < 96; t++) picks.push([start + Math.floor(rng.uniform() * n), end]);
    start = end;
  }
  return picks;
}

/** Exact float64 attention rows for the sampled queries. */
function referenceRows(q, k, v, d, tau, picks) {
  return picks.map(([i, visible]) => {
    const w = new Float64Array(visible);
    let max = -Infinity;
    for (let j = 0; j < visible; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += q[i * d + c] * k[j * d + c];
      w[j] = s * tau;
      if (w[j] > max) max = w[j];
    }
    let sum = 0;
    const acc = new Float64Array(d);
    for (let j = 0; j < visible; j++) {
      const p = Math.exp(w[j] - max);
      sum += p;
      for (let c = 0; c < d; c++) acc[c] += p * v[j * d + c];
    }
    return acc.map((x) => x / sum);
  });
}

function sampledError(out, d, picks, ref) {
  let m = 0;
  picks.forEach(([i], t) => {
    for (let c = 0; c < d; c++) m = Math.max(m, Math.abs(out[i * d + c] - ref[t][c]));
  });
  return m;
}

const fmtS = (s) =>
  s === null || s === undefined ? '–' : s >= 100 ? s.toFixed(0) : s >= 1 ? s.toFixed(2) : s.toFixed(3);
const fmtE = (x) => (x === null || x === undefined ? '–' : x.toExponential(2));

// ------------------------------------------------------------------------------------------------
// The study

const lowrank = createLowrankAttention({ epsilon });
// The exact baseline is whichever 'cpu' backend the caller registered (this package imports no other backend).
const cpu = await createRegisteredBackend('cpu');
const info = {
  machine: machine(),
  started: new Date().toISOString(),
  epsilon,
  reps,
  exactLimit,
  dims,
  betas,
  ns,
  quick,
};
console.error(
  `machine: ${info.machine.cpu}, ${info.machine.cores} cores, node ${info.machine.node}, load ${info.machine.loadavg.join(' ')}`,
);
const results = [];
const exactRuns = [];

for (const d of dims) {
  const refused = new Map(); // β → reason, once a smaller n refused for good
  let prevExact = null; // { n, seconds }
  for (const n of ns) {
    const ends = pyramid(n);
    const L = ends[ends.length - 1];
    const W = pyramidWork(ends);
    const rng = new Rng(1000 * d + n);
    const q = unitRows(rng, L, d);
    const k = unitRows(rng, L, d);
    const v = rng.normalArray(L * d);
    const picks = sampleRows(rng, ends);

    // Exact CPU backend: its cost does not depend on β, so it runs once per (d, n).
    const predicted = prevExact ? (prevExact.seconds * W) / prevExact.W : 0;
    const exact = { seconds: null, runs: 0, skipped: null, out: null, predicted: prevExact ? predicted : null };
    if (predicted > exactLimit) {
      exact.skipped = `predicted ${predicted.toFixed(0)} s > --exact-limit ${exactLimit} s (extrapolated from n = ${prevExact.n} by W = Σ h_k² L_≤k)`;
    } else {
      const exactReps = predicted > 15 ? 1 : reps;
      if (predicted < 2) await generate(cpu, { batch: 1, heads: 1, headDim: d, scale: 1 }, q, k, v, ends, d); // warm-up
      const times = [];
      for (let r = 0; r < exactReps; r++) {
        const g = await generate(cpu, { batch: 1, heads: 1, headDim: d, scale: betas[0] }, q, k, v, ends, d);
        times.push(g.seconds);
        if (r === 0) exact.out = g.out;
      }
      exact.seconds = median(times);
      exact.runs = times.length;
      prevExact = { n, seconds: exact.seconds, W };
    }
    exactRuns.push({
      d,
      n,
      L,
      W,
      seconds: exact.seconds,
      runs: exact.runs,
      skipped: exact.skipped,
      predicted: exact.predicted,
    });
    console.error(
      `d=${d} n=${n} L=${L}: exact ${exact.seconds !== null ? `${fmtS(exact.seconds)} s (${exact.runs} runs)` : `skipped: ${exact.skipped}`}`,
    );

    for (const beta of betas) {
      const row = {
        d,
        n,
        L,
        W,
        beta,
        epsilon,
        exactSeconds: exact.seconds,
        exactRuns: exact.runs,
        exactSkipped: exact.skipped,
        exactPredicted: exact.predicted,
      };
      if (refused.has(beta)) {
        const first = refused.get(beta);
        results.push({
          ...row,
          lowrankSeconds: null,
          refused: null,
          notRun: true,
          note: `not run: refused at n = ${first.n} (degree/rank only grow with n)`,
        });
        continue;
      }
      const so = { batch: 1, heads: 1, headDim: d, scale: beta, logitBound: beta };
      const first = await generate(lowrank, so, q, k, v, ends, d); // warm-up and the outputs we check
      const times = [];
      if (first.seconds < 60)
        for (let r = 0; r < reps; r++) times.push((await generate(lowrank, so, q, k, v, ends, d)).seconds);
      else times.push(first.seconds); // a long run: the JIT warm-up is negligible, keep the first
      const certs = first.results.map((r) => r.certificate).filter(Boolean);
      const exactScales = first.results
        .map((r, s) => (r.certificate ? null : `scale ${s}: ${r.exactReason}`))
        .filter(Boolean);
      const last = first.results[first.results.length - 1];
      const ref = referenceRows(q, k, v, d, beta, picks);
      const errSampled = sampledError(first.out, d, picks, ref);
      let errFull = null;
      if (exact.out && beta === betas[0]) {
        errFull = 0;
        for (let i = 0; i < first.out.length; i++) errFull = Math.max(errFull, Math.abs(first.out[i] - exact.out[i]));
      }
      const boundMax = certs.length ? Math.max(...certs.map((c) => c.errBoundMax)) : null;
      const lowrankSeconds = median(times);
      const finalRefusal =
        !last.certificate && /cannot certify|critical/.test(last.exactReason ?? '') ? last.exactReason : null;
      if (finalRefusal && /cannot certify/.test(finalRefusal)) refused.set(beta, { n, reason: finalRefusal });
      results.push({
        ...row,
        lowrankSeconds,
        lowrankRuns: times.length,
        speedup: exact.seconds !== null ? exact.seconds / lowrankSeconds : null,
        speedupExtrapolated: exact.seconds === null && exact.predicted ? exact.predicted / lowrankSeconds : null,
        degree: certs.length ? Math.max(...certs.map((c) => c.degree)) : null,
        rank: certs.length ? Math.max(...certs.map((c) => c.rank)) : null,
        family: certs[0]?.family ?? null,
        certifiedScales: certs.length,
        exactScales,
        errSampled,
        errFullVsExactBackend: errFull,
        errBoundMax: boundMax,
        boundHolds: boundMax === null ? errSampled <= 1e-5 : errSampled <= boundMax,
        rebuilds: certs.length ? (certs[certs.length - 1].events ?? []) : [],
        refused: finalRefusal,
      });
      console.error(
        `  β=${beta}: lowrank ${fmtS(lowrankSeconds)} s` +
          (certs.length
            ? ` (degree ${results.at(-1).degree}, rank ${results.at(-1).rank}, err ${fmtE(errSampled)} ≤ bound ${fmtE(boundMax)})`
            : '') +
          (finalRefusal ? ` — exact: ${finalRefusal}` : '') +
          (results.at(-1).speedup ? `, speedup ${results.at(-1).speedup.toFixed(1)}×` : ''),
      );
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Slopes

const slopes = [];
for (const d of dims) {
  const ex = exactRuns.filter((r) => r.d === d && r.seconds !== null).map((r) => [r.n, r.seconds]);
  slopes.push({
    d,
    config: 'exact (cpu)',
    slope: logLogSlope(ex),
    slopeLarge: logLogSlope(ex.filter(([n]) => n >= 32)),
    points: ex.length,
  });
  for (const beta of betas) {
    const lr = results
      .filter((r) => r.d === d && r.beta === beta && r.lowrankSeconds !== null && !r.refused && !r.notRun)
      .map((r) => [r.n, r.lowrankSeconds]);
    if (lr.length)
      slopes.push({
        d,
        config: `lowrank β=${beta}`,
        beta,
        slope: logLogSlope(lr),
        slopeLarge: logLogSlope(lr.filter(([n]) => n >= 32)),
        points: lr.length,
      });
  }
}

// ------------------------------------------------------------------------------------------------
// Outputs

mkdirSync(outDir, { recursive: true });
info.finished = new Date().toISOString();
info.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));
writeFileSync(
  join(outDir, 'scaling.json'),
  JSON.stringify({ info, exact: exactRuns, results, slopes }, null, 2) + '\n',
);

const md = [];
md.push('# Scaling study: lowrank prefix state vs exact CPU attention', '');
md.push(
  `Machine: ${info.machine.cpu}, ${info.machine.cores} cores, ${info.machine.memGiB} GiB, ${info.machine.platform}, node ${info.machine.node}; load average ${info.machine.loadavg.join(' / ')} at start, ${info.loadavgEnd.join(' / ')} at end.`,
);
md.push(
  `Doubling pyramid (scales 1, 2, 4, …, n), batch 1, one head; q, k on the unit sphere, τ = β (logit bound exactly β, passed as the static bound); v ~ N(0, 1); ε = ${epsilon}; family minimax-rel (the default); caps gMax 8, rMax 5000.`,
);
md.push(
  `Times are medians of ${reps} runs of a whole generation through the incremental state (exact: fewer runs when one run is predicted above 15 s, skipped above ${exactLimit} s). Exact time does not depend on β; it is measured once per (d, n). "err" is the max abs error over up to 96 sampled query rows per scale against a float64 reference; "bound" is the largest per-scale certified errBoundMax.`,
  '',
);
md.push('| d | β | n | L | lowrank s | exact s | speedup | degree | rank | err | bound | exact scales | note |');
md.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const speed = r.speedup
    ? `${r.speedup.toFixed(1)}×`
    : r.speedupExtrapolated
      ? `≈${r.speedupExtrapolated.toFixed(1)}× (extrap.)`
      : '–';
  const allExact =
    r.exactScales && r.certifiedScales === 0 && !r.refused
      ? 'every scale exact (cost model: exact cheaper or β ≥ ln L at the prefix)'
      : '';
  const note = r.refused
    ? `refused: ${r.refused.replace(/\|/g, '/')}`
    : (r.note ?? (r.exactSkipped ? `exact skipped: ${r.exactSkipped}` : allExact));
  md.push(
    `| ${r.d} | ${r.beta} | ${r.n} | ${r.L} | ${fmtS(r.lowrankSeconds)} | ${r.exactSeconds !== null ? fmtS(r.exactSeconds) : r.exactPredicted ? `≈${fmtS(r.exactPredicted)} (pred.)` : '–'} | ${speed} | ${r.degree ?? '–'} | ${r.rank ?? '–'} | ${fmtE(r.errSampled)} | ${fmtE(r.errBoundMax)} | ${r.exactScales ? r.exactScales.length : '–'} | ${note} |`,
  );
}
md.push(
  '',
  '## Fitted log-log slope of time vs n',
  '',
  '| d | configuration | slope (all n) | slope (n ≥ 32) | points |',
  '|---|---|---|---|---|',
);
for (const s of slopes)
  md.push(
    `| ${s.d} | ${s.config} | ${s.slope === null ? '–' : s.slope.toFixed(2)} | ${s.slopeLarge === null ? '–' : s.slopeLarge.toFixed(2)} | ${s.points} |`,
  );
writeFileSync(join(outDir, 'scaling.md'), md.join('\n') + '\n');

// Hand-written SVG: one log-log panel per head dim, time vs n, lowrank per β and the exact line.
const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];
const panelW = 460;
const panelH = 340;
const margin = { l: 60, r: 20, t: 40, b: 50 };
const allTimes = [...results.map((r) => r.lowrankSeconds), ...exactRuns.map((r) => r.seconds)].filter((x) => x > 0);
const yMin = 10 ** Math.floor(Math.log10(Math.min(...allTimes)));
const yMax = 10 ** Math.ceil(Math.log10(Math.max(...allTimes)));
const xMin = Math.min(...ns);
const xMax = Math.max(...ns);
const svg = [];
const W = dims.length * panelW;
const H = panelH + 70;
svg.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
);
svg.push(`<rect width="${W}" height="${H}" fill="white"/>`);
dims.forEach((d, p) => {
  const x0 = p * panelW + margin.l;
  const y0 = margin.t;
  const w = panelW - margin.l - margin.r;
  const h = panelH - margin.t - margin.b;
  const X = (n) => x0 + (w * Math.log(n / xMin)) / Math.log(xMax / xMin || 2);
  const Y = (s) => y0 + h - (h * Math.log(s / yMin)) / Math.log(yMax / yMin);
  svg.push(
    `<text x="${x0 + w / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">head dim ${d}: time per generation vs n (log-log)</text>`,
  );
  svg.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
    const y = Y(10 ** e);
    svg.push(
      `<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#ddd"/><text x="${x0 - 6}" y="${y + 4}" text-anchor="end">1e${e}</text>`,
    );
  }
  for (const n of ns) {
    const x = X(n);
    svg.push(
      `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + h}" stroke="#eee"/><text x="${x}" y="${y0 + h + 16}" text-anchor="middle">${n}</text>`,
    );
  }
  svg.push(
    `<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle">n (last scale side; L = (4n² − 1)/3)</text>`,
  );
  svg.push(
    `<text x="${p * panelW + 14}" y="${y0 + h / 2}" transform="rotate(-90 ${p * panelW + 14} ${y0 + h / 2})" text-anchor="middle">seconds</text>`,
  );
  const line = (pts, color, dash, label, li) => {
    if (!pts.length) return;
    svg.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([n, s]) => `${X(n).toFixed(1)},${Y(s).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [n, s] of pts)
      svg.push(`<circle cx="${X(n).toFixed(1)}" cy="${Y(s).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = y0 + 12 + li * 15;
    svg.push(
      `<line x1="${x0 + 8}" y1="${ly - 4}" x2="${x0 + 28}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ' stroke-dasharray="6 4"' : ''}/><text x="${x0 + 32}" y="${ly}">${label}</text>`,
    );
  };
  let li = 0;
  const ex = exactRuns.filter((r) => r.d === d && r.seconds !== null).map((r) => [r.n, r.seconds]);
  const exSlope = slopes.find((s) => s.d === d && s.config === 'exact (cpu)')?.slope;
  line(ex, '#000', true, `exact cpu (slope ${exSlope?.toFixed(2) ?? '–'})`, li++);
  betas.forEach((beta, bi) => {
    const pts = results
      .filter((r) => r.d === d && r.beta === beta && r.lowrankSeconds !== null && !r.refused)
      .map((r) => [r.n, r.lowrankSeconds]);
    const s = slopes.find((x) => x.d === d && x.beta === beta);
    if (pts.length)
      line(pts, colors[bi % colors.length], false, `lowrank β=${beta} (slope ${s?.slope?.toFixed(2) ?? '–'})`, li++);
    else {
      const ly = y0 + 12 + li++ * 15;
      svg.push(
        `<text x="${x0 + 32}" y="${ly}" fill="${colors[bi % colors.length]}">β=${beta}: refused (exact), see table</text>`,
      );
    }
  });
});
svg.push(
  `<text x="10" y="${H - 10}" fill="#555">${info.machine.cpu}, ${info.machine.cores} cores, node ${info.machine.node}; ε = ${epsilon}; medians of ${reps} runs</text>`,
);
svg.push('</svg>');
writeFileSync(join(outDir, 'scaling.svg'), svg.join('\n') + '\n');
console.error(`wrote ${join(outDir, 'scaling.json')}, scaling.md, scaling.svg`);
