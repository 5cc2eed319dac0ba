/**
 * The low-rank scaling study and the κ calibration live in @nextscale/backend-lowrank; this finds them
 * through backend discovery and runs them. For the study, two forms are supported: a `./bench` export
 * with a study function (`runScalingStudy({ out, reps, quick, signal, log })`), or the package's
 * `bench/scaling.mjs` script (run in a child process with `--out <dir>`; it writes scaling.{json,md,svg}
 * there). Rows a module returns without markdown/SVG are rendered here. The calibration is the script
 * `bench/calibrate-kappa.mjs`, which writes kappa.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AbortedError } from '@nextscale/core';
import type { Discovery } from '../plugs/discover.js';
import { backendError, CliError } from '../errors.js';
import { logLogChart, type LineSeries } from '@nextscale/bench-utils';

export const LOWRANK_PACKAGE = '@nextscale/backend-lowrank';

export interface ScalingOutput {
  /** Rows (module form) or the script's JSON document. */
  data: unknown;
  markdown: string;
  svg: string;
  /** Files the study wrote itself (script form). */
  files: string[];
}

export interface ScalingOptions {
  out: string;
  reps: number;
  quick: boolean;
  signal: AbortSignal;
  log: (s: string) => void;
  /** Whether the script's own output may go to stderr. */
  verbose: boolean;
}

export type ScalingStudy =
  | { kind: 'module'; entry: string; run: (opts: Record<string, unknown>) => Promise<unknown> }
  | { kind: 'script'; entry: string };

function benchExport(dir: string): string | undefined {
  const pj = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  let t: unknown = pj.exports?.['./bench'];
  for (let i = 0; i < 4 && t && typeof t === 'object'; i++) {
    const o = t as Record<string, unknown>;
    t = o['import'] ?? o['node'] ?? o['default'];
  }
  return typeof t === 'string' ? path.join(dir, t) : undefined;
}

function lowrankPackage(d: Discovery, what: string) {
  const pkg = d.loaded.find((l) => l.name === LOWRANK_PACKAGE || l.descriptor?.id === 'lowrank');
  if (!pkg)
    throw backendError(
      `${what} needs ${LOWRANK_PACKAGE}, which is not installed`,
      `npm i ${LOWRANK_PACKAGE} (or list it in nextscale.config "backends")`,
    );
  return pkg;
}

/** Finds the study before anything is measured, so a missing package fails at once. */
export async function locateScaling(d: Discovery): Promise<ScalingStudy> {
  const pkg = lowrankPackage(d, 'the scaling study');
  const entry = benchExport(pkg.dir);
  if (entry && existsSync(entry)) {
    const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    const fn = ['runScalingStudy', 'scalingStudy', 'runScaling', 'default']
      .map((k) => mod[k])
      .find((f) => typeof f === 'function');
    if (fn) return { kind: 'module', entry, run: fn as (opts: Record<string, unknown>) => Promise<unknown> };
  }
  const script = path.join(pkg.dir, 'bench', 'scaling.mjs');
  if (existsSync(script)) return { kind: 'script', entry: script };
  throw backendError(
    `${pkg.name}@${pkg.version} ships no scaling study (no "./bench" export, no bench/scaling.mjs)`,
    `install a version of ${LOWRANK_PACKAGE} that ships it`,
  );
}

export async function runScaling(study: ScalingStudy, o: ScalingOptions): Promise<ScalingOutput> {
  if (study.kind === 'script') return runScript(study.entry, o);
  const raw = await study.run({ out: o.out, reps: o.reps, quick: o.quick, signal: o.signal, log: o.log });
  const res = (raw ?? {}) as Record<string, unknown>;
  const rows = (Array.isArray(raw) ? raw : Array.isArray(res['rows']) ? res['rows'] : []) as Record<string, unknown>[];
  return {
    data: rows,
    markdown: typeof res['markdown'] === 'string' ? (res['markdown'] as string) : rowsToMarkdown(rows),
    svg: typeof res['svg'] === 'string' ? (res['svg'] as string) : rowsToSvg(rows),
    files: [],
  };
}

async function runScript(script: string, o: ScalingOptions): Promise<ScalingOutput> {
  await runBenchScript('the scaling study', script, o);
  const read = (f: string) => (existsSync(path.join(o.out, f)) ? readFileSync(path.join(o.out, f), 'utf8') : '');
  const json = read('scaling.json');
  return {
    data: json ? JSON.parse(json) : null,
    markdown: read('scaling.md'),
    svg: read('scaling.svg'),
    files: ['scaling.json', 'scaling.md', 'scaling.svg'].map((f) => path.join(o.out, f)).filter((f) => existsSync(f)),
  };
}

/** What `calibrate-kappa.mjs` found: the break-even κ of the norm policy on this machine, and its cases. */
export interface Calibration {
  kappaStar: number;
  rows: Record<string, unknown>[];
  file: string;
}

/** The κ calibration script shipped by the lowrank package, found before anything is measured. */
export function locateCalibration(d: Discovery): string {
  const pkg = lowrankPackage(d, 'the κ calibration');
  const script = path.join(pkg.dir, 'bench', 'calibrate-kappa.mjs');
  if (!existsSync(script))
    throw backendError(
      `${pkg.name}@${pkg.version} ships no κ calibration (no bench/calibrate-kappa.mjs)`,
      `install a version of ${LOWRANK_PACKAGE} that ships it`,
    );
  return script;
}

export async function runCalibration(script: string, o: ScalingOptions): Promise<Calibration> {
  await runBenchScript('the κ calibration', script, o);
  const file = path.join(o.out, 'kappa.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { kappaStar: number; rows: Record<string, unknown>[] };
  return { kappaStar: doc.kappaStar, rows: doc.rows, file };
}

/** Runs one of the lowrank package's bench scripts in a child process with --out, --reps and --quick. */
async function runBenchScript(what: string, script: string, o: ScalingOptions): Promise<void> {
  // The scripts time against the exact 'cpu' backend registered by their caller: the CLI's own backend-cpu.
  const baseline = import.meta.resolve('@nextscale/backend-cpu/register');
  const args = [
    '--import',
    baseline,
    script,
    '--out',
    o.out,
    '--reps',
    String(o.reps),
    ...(o.quick ? ['--quick'] : []),
  ];
  o.log(`running ${script}${o.quick ? ' (quick)' : ''}`);
  const stderr: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: path.dirname(path.dirname(script)),
      stdio: ['ignore', o.verbose ? 'inherit' : 'ignore', o.verbose ? 'inherit' : 'pipe'],
    });
    child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
    const onAbort = () => child.kill('SIGTERM');
    o.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (c) => {
      o.signal.removeEventListener('abort', onAbort);
      resolve(c);
    });
  });
  if (o.signal.aborted) throw new AbortedError();
  if (code !== 0) {
    const last = stderr.join('').trim().split('\n').pop() ?? '';
    throw new CliError(
      'E_INTERNAL',
      `${what} (${script}) failed with exit code ${code}${last ? `: ${last}` : ''}`,
      'rerun with --verbose to see its output',
    );
  }
}

export function rowsToMarkdown(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '_no rows_\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) =>
    rows.some((r) => typeof r[c] !== 'object' || r[c] === null),
  );
  const cell = (v: unknown) =>
    typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toPrecision(4)
      : v === undefined || v === null
        ? ''
        : String(v);
  return `| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n${rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`).join('\n')}\n`;
}

/** x: the first of L/n/tokens; y: every column whose name says seconds/ms/time; one line per series. */
export function rowsToSvg(rows: Record<string, unknown>[]): string {
  const xKey = ['L', 'n', 'tokens', 'length', 'seqLen'].find((k) => rows.some((r) => typeof r[k] === 'number')) ?? 'L';
  const groupKey = ['backend', 'series', 'method', 'family', 'name'].find((k) =>
    rows.some((r) => typeof r[k] === 'string'),
  );
  const yKeys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
    (k) => /seconds|time|ms$/i.test(k) && rows.some((r) => typeof r[k] === 'number'),
  );
  const series = new Map<string, LineSeries>();
  for (const r of rows) {
    for (const y of yKeys) {
      const name = `${groupKey ? `${r[groupKey]} ` : ''}${y}`;
      if (!series.has(name)) series.set(name, { name, points: [] });
      if (typeof r[xKey] === 'number' && typeof r[y] === 'number')
        series.get(name)!.points.push({ x: r[xKey] as number, y: r[y] as number });
    }
  }
  return logLogChart('low-rank attention: scaling study', xKey, yKeys.join(', ') || 'value', [...series.values()]);
}
