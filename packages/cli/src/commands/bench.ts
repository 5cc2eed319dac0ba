/**
 * `nextscale bench`: every available attention backend at VAR's shapes (medians, GFLOP/s), written as
 * a markdown table and an SVG plot; `--scaling` adds the low-rank scaling study.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { throwIfAborted } from '@nextscale/core';
import { RELEASED_PYRAMIDS } from '@nextscale/core/models';
import type { Context } from '../context.js';
import { benchBackend, type BenchRow } from '../bench/attention.js';
import {
  locateCalibration,
  locateScaling,
  runCalibration,
  runScaling,
  type Calibration,
  type ScalingOutput,
} from '../bench/scaling.js';
import { barChart, machine } from '@nextscale/bench-utils';
import { parseNumber, parsePatchNums } from '../config/resolve.js';
import { backendError, usageError } from '../errors.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { fmt, table } from '../output/table.js';
import { addCommonOptions, addEngineOption, discover, readLayers, type CommonOptions, type Wrap } from './common.js';
import { activateEngine, engineToJSON } from '../engines/activate.js';
import { installHint } from '../plugs/discover.js';
import { checkBackendOptions } from '../backends/policy.js';

interface BenchFlags extends CommonOptions {
  backends?: string;
  lengths?: string;
  heads?: string;
  headDim?: string;
  reps?: string;
  beta?: string;
  epsilon?: string;
  out?: string;
  scaling?: boolean;
  calibrate?: boolean;
  quick?: boolean;
  engine?: string;
}

export function benchCommand(wrap: Wrap): Command {
  const cmd = new Command('bench')
    .description(
      'benchmark the attention backends side by side at VAR shapes; --scaling runs the low-rank scaling study, --calibrate the κ calibration',
    )
    .option('--backends <ids>', 'comma list of backend ids (default: every available one)')
    .option('--lengths <list>', 'sequence lengths: 680 (256 px) and/or 2240 (512 px)', '680,2240')
    .option('--heads <n>', 'attention heads per call', '1')
    .option('--head-dim <n>', 'head dimension', '64')
    .option('--reps <n>', 'timed runs per case (after one warm-up); the median is reported', '5')
    .option('--beta <x>', "logit bound of the l2-normalised inputs (VAR's exp(scale_mul))", '0.5')
    .option('--epsilon <x>', 'target error for approximate backends', '1e-3')
    .option('--scaling', 'also run the low-rank scaling study (needs @nextscale/backend-lowrank)')
    .option(
      '--calibrate',
      "measure the norm policy's break-even kappa on this machine (needs @nextscale/backend-lowrank)",
    )
    .option('--quick', 'a shorter scaling study or calibration (fewer sizes, dims and bounds)')
    .option('-o, --out <dir>', 'folder for the markdown table, SVG plot and JSON', 'bench-results');
  addEngineOption(cmd);
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: BenchFlags) => runBench(ctx, flags)));
}

export async function runBench(ctx: Context, flags: BenchFlags): Promise<number> {
  const reps = parseNumber(flags.reps ?? '5', '--reps', { int: true, positive: true });
  const heads = parseNumber(flags.heads ?? '1', '--heads', { int: true, positive: true });
  const headDim = parseNumber(flags.headDim ?? '64', '--head-dim', { int: true, positive: true });
  const beta = parseNumber(flags.beta ?? '0.5', '--beta', { positive: true });
  const epsilon = parseNumber(flags.epsilon ?? '1e-3', '--epsilon', { positive: true });
  const lengths = parsePatchNums(flags.lengths ?? '680,2240', '--lengths');
  for (const L of lengths) {
    if (!RELEASED_PYRAMIDS[L])
      throw usageError(
        `--lengths: no VAR pyramid with L = ${L}`,
        `use ${Object.keys(RELEASED_PYRAMIDS).join(' and/or ')}`,
      );
  }
  const outDir = path.resolve(ctx.cwd, flags.out ?? 'bench-results');
  const layers = await readLayers(ctx, flags.config);
  const d = await discover(ctx, layers);
  const engine = await activateEngine(ctx, layers, flags.engine);
  const probed = await d.registry.probeAll();
  checkBackendOptions(layers.file.backendOptions, probed);
  const wanted = flags.backends
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of wanted ?? []) {
    if (!probed.some((a) => a.descriptor.id === id))
      throw backendError(`attention backend '${id}' is not installed`, installHint(id));
  }
  const study = flags.scaling ? await locateScaling(d) : undefined;
  const calibrationScript = flags.calibrate ? locateCalibration(d) : undefined;
  const chosen = probed.filter((a) => !wanted || wanted.includes(a.descriptor.id));

  const rows: BenchRow[] = [];
  for (const a of chosen) {
    if (!a.probe.available) {
      for (const L of lengths)
        rows.push({
          backend: a.descriptor.id,
          exact: a.descriptor.exact,
          L,
          heads,
          headDim,
          path: 'one-shot',
          seconds: NaN,
          gflops: NaN,
          runs: 0,
          skipped: a.probe.reason,
        });
      ctx.log(`${a.descriptor.id}: skipped (${a.probe.reason})`);
      continue;
    }
    const instance = await a.descriptor.create(layers.file.backendOptions?.[a.descriptor.id]);
    try {
      for (const L of lengths) {
        throwIfAborted(ctx.signal);
        ctx.log(`${a.descriptor.id}: L = ${L} …`);
        try {
          rows.push(
            ...(await benchBackend(
              a.descriptor,
              instance,
              { L, patchNums: RELEASED_PYRAMIDS[L], heads, headDim },
              { reps, beta, epsilon, signal: ctx.signal },
            )),
          );
        } catch (err) {
          throwIfAborted(ctx.signal);
          rows.push({
            backend: a.descriptor.id,
            exact: a.descriptor.exact,
            L,
            heads,
            headDim,
            path: 'one-shot',
            seconds: NaN,
            gflops: NaN,
            runs: 0,
            skipped: (err as Error).message.split('\n')[0],
          });
        }
      }
    } finally {
      await instance.dispose();
    }
  }
  throwIfAborted(ctx.signal);

  let scaling: ScalingOutput | undefined;
  if (study) {
    await fsp.mkdir(outDir, { recursive: true });
    scaling = await runScaling(study, {
      out: outDir,
      reps,
      quick: Boolean(flags.quick),
      signal: ctx.signal,
      log: (s) => ctx.log(s),
      verbose: ctx.verbose,
    });
  }
  let calibration: Calibration | undefined;
  if (calibrationScript) {
    await fsp.mkdir(outDir, { recursive: true });
    calibration = await runCalibration(calibrationScript, {
      out: outDir,
      reps,
      quick: Boolean(flags.quick),
      signal: ctx.signal,
      log: (s) => ctx.log(s),
      verbose: ctx.verbose,
    });
  }
  throwIfAborted(ctx.signal);

  const m = machine();
  const md = benchMarkdown(rows, m, { reps, beta, epsilon });
  const svg = barChart(
    `attention at VAR shapes (d = ${headDim}, ${heads} head${heads > 1 ? 's' : ''}, block-causal)`,
    'GFLOP/s (exact-equivalent)',
    lengths.map((L) => ({
      label: `L = ${L}`,
      values: rows
        .filter((r) => r.L === L && !r.skipped)
        .map((r) => ({ series: `${r.backend} ${r.path}`, value: r.gflops })),
    })),
  );
  await fsp.mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, text: string) => {
    const p = path.join(outDir, name);
    await fsp.writeFile(p, text);
    files.push(p);
  };
  await put('attention.md', md);
  await put('attention.svg', svg);
  await put('attention.json', JSON.stringify({ machine: m, reps, beta, epsilon, rows }, null, 2) + '\n');
  if (scaling?.files.length) files.push(...scaling.files);
  else if (scaling) {
    await put('scaling.md', scaling.markdown);
    await put('scaling.svg', scaling.svg);
    await put('scaling.json', JSON.stringify(scaling.data, null, 2) + '\n');
  }
  if (calibration) files.push(calibration.file);
  const kappaLine = calibration
    ? `\nnorm policy break-even κ* = ${calibration.kappaStar.toPrecision(2)} on this machine (median of ${calibration.rows.length} cases; the default is 0.5): put "policy": { "kappa": ${calibration.kappaStar.toPrecision(2)} } in nextscale.config.json\n`
    : '';

  if (ctx.json) {
    writeJson(ctx.stdout, {
      command: 'bench',
      machine: m,
      engine: engineToJSON(engine),
      reps,
      beta,
      epsilon,
      rows,
      scaling: scaling ? scaling.data : null,
      calibration: calibration ?? null,
      files,
    });
  } else {
    ctx.out(
      table(
        ['backend', 'L', 'path', 'median s', 'GFLOP/s', 'cert. error', 'note'],
        rows.map((r) => [
          r.backend,
          r.L,
          r.path,
          r.skipped ? '' : r.seconds.toFixed(4),
          r.skipped ? '' : r.gflops.toFixed(2),
          fmt(r.certifiedError),
          r.skipped ?? '',
        ]),
      ) +
        (scaling?.markdown ? `\n${scaling.markdown}` : '') +
        kappaLine +
        `\nwrote ${files.map((f) => displayPath(f, ctx.cwd)).join(', ')}`,
    );
  }
  return 0;
}

function benchMarkdown(
  rows: BenchRow[],
  m: Record<string, string | number>,
  o: { reps: number; beta: number; epsilon: number },
): string {
  let s = `# Attention backends at VAR shapes\n\nmachine: ${Object.entries(m)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}\n\n`;
  s += `Block-causal mask over the VAR pyramid, l2-normalised inputs with logit bound β = ${o.beta}, ε = ${o.epsilon}; median of ${o.reps} runs after one warm-up. GFLOP/s counts exact attention's 4·d FLOPs per visible (query, key) pair (effective throughput for approximate backends).\n\n`;
  s +=
    '| backend | kind | L | path | median s | GFLOP/s | certified error | note |\n|---|---|---|---|---|---|---|---|\n';
  for (const r of rows) {
    s += `| ${r.backend} | ${r.exact ? 'exact' : 'approx'} | ${r.L} | ${r.path} | ${r.skipped ? '' : r.seconds.toFixed(4)} | ${r.skipped ? '' : r.gflops.toFixed(2)} | ${fmt(r.certifiedError)} | ${r.skipped ?? ''} |\n`;
  }
  return s;
}
