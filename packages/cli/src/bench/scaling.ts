/**
 * The low-rank scaling study lives in @nextscale/backend-lowrank (its `bench` entry); this finds it
 * through backend discovery and renders whatever rows it returns as a markdown table and a log–log plot.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Discovery } from '../backends/discover.js';
import { backendError } from '../errors.js';
import { logLogChart, type LineSeries } from './svg.js';

export const LOWRANK_PACKAGE = '@nextscale/backend-lowrank';

export interface ScalingOutput {
  rows: Record<string, unknown>[];
  markdown: string;
  svg: string;
  module: string;
}

function benchEntry(dir: string): string | undefined {
  const pj = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  let t: unknown = pj.exports?.['./bench'];
  for (let i = 0; i < 4 && t && typeof t === 'object'; i++) {
    const o = t as Record<string, unknown>;
    t = o['import'] ?? o['node'] ?? o['default'];
  }
  if (typeof t === 'string') return path.join(dir, t);
  for (const guess of ['dist/bench.js', 'dist/bench/index.js']) if (existsSync(path.join(dir, guess))) return path.join(dir, guess);
  return undefined;
}

export interface ScalingStudy {
  module: string;
  run: (opts: Record<string, unknown>) => Promise<unknown>;
}

/** Finds and imports the study before anything is measured, so a missing package fails at once. */
export async function locateScaling(d: Discovery): Promise<ScalingStudy> {
  const pkg = d.loaded.find((l) => l.name === LOWRANK_PACKAGE || l.backend?.id === 'lowrank');
  if (!pkg) {
    throw backendError(`the scaling study needs ${LOWRANK_PACKAGE}, which is not installed`, `npm i ${LOWRANK_PACKAGE} (or list it in nextscale.config "backends")`);
  }
  const entry = benchEntry(pkg.dir);
  if (!entry || !existsSync(entry)) {
    throw backendError(`${pkg.name}@${pkg.version} has no bench module (no "./bench" export)`, `install a version of ${LOWRANK_PACKAGE} that ships its scaling study`);
  }
  const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const fn = ['runScalingStudy', 'scalingStudy', 'runScaling', 'run', 'default'].map((k) => mod[k]).find((f) => typeof f === 'function') as
    | ((opts: Record<string, unknown>) => Promise<unknown>)
    | undefined;
  if (!fn) throw backendError(`${pkg.name}'s bench module exports no scaling study function`, `install a matching version of ${LOWRANK_PACKAGE}`);
  return { module: entry, run: fn };
}

export async function runScaling(study: ScalingStudy, o: { reps: number; signal: AbortSignal; log: (s: string) => void }): Promise<ScalingOutput> {
  const raw = await study.run({ reps: o.reps, signal: o.signal, log: o.log, onProgress: o.log });
  const res = (raw ?? {}) as Record<string, unknown>;
  const rows = (Array.isArray(raw) ? raw : Array.isArray(res['rows']) ? res['rows'] : []) as Record<string, unknown>[];
  const markdown = typeof res['markdown'] === 'string' ? (res['markdown'] as string) : rowsToMarkdown(rows);
  const svg = typeof res['svg'] === 'string' ? (res['svg'] as string) : rowsToSvg(rows);
  return { rows, markdown, svg, module: study.module };
}

export function rowsToMarkdown(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '_no rows_\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => rows.some((r) => typeof r[c] !== 'object' || r[c] === null));
  const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === undefined || v === null ? '' : String(v));
  return `| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n${rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`).join('\n')}\n`;
}

/** x: the first of L/n/tokens; y: every column whose name says seconds/ms/time; one line per series. */
export function rowsToSvg(rows: Record<string, unknown>[]): string {
  const xKey = ['L', 'n', 'tokens', 'length', 'seqLen'].find((k) => rows.some((r) => typeof r[k] === 'number')) ?? 'L';
  const groupKey = ['backend', 'series', 'method', 'family', 'name'].find((k) => rows.some((r) => typeof r[k] === 'string'));
  const yKeys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => /seconds|time|ms$/i.test(k) && rows.some((r) => typeof r[k] === 'number'));
  const series = new Map<string, LineSeries>();
  for (const r of rows) {
    for (const y of yKeys) {
      const name = `${groupKey ? `${r[groupKey]} ` : ''}${y}`;
      if (!series.has(name)) series.set(name, { name, points: [] });
      if (typeof r[xKey] === 'number' && typeof r[y] === 'number') series.get(name)!.points.push({ x: r[xKey] as number, y: r[y] as number });
    }
  }
  return logLogChart('low-rank attention: scaling study', xKey, yKeys.join(', ') || 'value', [...series.values()]);
}
