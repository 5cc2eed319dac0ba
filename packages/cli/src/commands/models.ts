/**
 * `nextscale models`: the released models by name, and whether the Hugging Face cache holds them;
 * `models pull <name>` downloads one (resuming, verified) without generating; `models rm <name>`
 * frees its space (the shared VQ-VAE stays while another cached model uses it).
 */
import { Command } from 'commander';
import {
  catalogue,
  ensureModel,
  findModel,
  formatBytes,
  hubSettings,
  modelCacheState,
  removeModel,
  type ModelEntry,
} from '@nextscale/hub';
import type { Context } from '../context.js';
import { writeJson } from '../output/json.js';
import { withDownloadProgress } from '../output/download.js';
import { table } from '../output/table.js';
import { displayPath } from '../util/paths.js';
import { addCommonOptions, type CommonOptions, type Wrap } from './common.js';

export function modelsCommand(wrap: Wrap): Command {
  // Positional: `models pull x --json` gives --json to pull, not to the list.
  const cmd = new Command('models')
    .description('list the released models by name and whether they are downloaded; pull or remove one')
    .enablePositionalOptions();
  addCommonOptions(cmd, { config: false });
  cmd.action(wrap((ctx) => listModels(ctx)));
  const pull = new Command('pull')
    .description('download a model into the Hugging Face cache (resumes, verifies) without generating')
    .argument('<name>', 'model name, e.g. var-d16');
  addCommonOptions(pull, { config: false });
  pull.action(wrap((ctx, _flags: CommonOptions, name: string) => pullModel(ctx, name)));
  const rm = new Command('rm')
    .description("remove a model's files from the Hugging Face cache")
    .argument('<name>', 'model name, e.g. var-d16');
  addCommonOptions(rm, { config: false });
  rm.action(wrap((ctx, _flags: CommonOptions, name: string) => rmModel(ctx, name)));
  return cmd.addCommand(pull).addCommand(rm);
}

const params = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${Math.round(n / 1e6)} M` : n ? String(n) : '?';

function describe(m: ModelEntry, cacheDir: string) {
  const state = modelCacheState(m, cacheDir);
  // The VQ-VAE is shared by every name: only the transformer file says whether this model was fetched.
  const cached = state.cached ? 'yes' : state.files.var ? 'partly' : 'no';
  return { m, state, cached };
}

async function listModels(ctx: Context): Promise<number> {
  const settings = hubSettings(ctx.env);
  const rows = catalogue(ctx.env).map((m) => describe(m, settings.cacheDir));
  if (ctx.json) {
    writeJson(ctx.stdout, {
      command: 'models',
      cacheDir: settings.cacheDir,
      endpoint: settings.endpoint,
      offline: settings.offline,
      models: rows.map(({ m, state, cached }) => ({
        name: m.name,
        description: m.description,
        repo: m.repo,
        revision: m.revision,
        files: m.files,
        bytes: m.bytes.var + m.bytes.vae,
        params: m.params,
        depth: m.depth,
        resolution: m.resolution,
        patchNums: m.patchNums,
        sharedAdaLN: m.sharedAdaLN,
        catalogue: m.source,
        cached,
        paths: { var: state.files.var?.path ?? null, vae: state.files.vae?.path ?? null },
      })),
    });
    return 0;
  }
  ctx.out(
    table(
      ['name', 'params', 'size', 'resolution', 'cached', 'where'],
      rows.map(({ m, state, cached }) => [
        m.name,
        params(m.params),
        m.bytes.var ? formatBytes(m.bytes.var + m.bytes.vae) : '?',
        m.resolution ? `${m.resolution}×${m.resolution}` : '?',
        cached,
        cached === 'no' ? '' : displayPath(state.folder, ctx.cwd),
      ]),
    ) +
      `cache: ${settings.cacheDir}${settings.offline ? ' (HF_HUB_OFFLINE: no downloads)' : ''}; download with 'nextscale models pull <name>'`,
  );
  return 0;
}

async function pullModel(ctx: Context, name: string): Promise<number> {
  const entry = findModel(name, catalogue(ctx.env));
  const t0 = performance.now();
  const got = await withDownloadProgress(ctx, (onEvent) =>
    ensureModel(entry, { settings: hubSettings(ctx.env), signal: ctx.signal, onEvent }),
  );
  const files = [got.var, got.vae].map((d, i) => ({
    file: i ? entry.files.vae : entry.files.var,
    path: d.path,
    bytes: d.bytes,
    transferred: d.transferred,
    resumedFrom: d.resumedFrom,
    cached: d.cached,
    commit: d.commit,
  }));
  const transferred = files.reduce((s, f) => s + f.transferred, 0);
  if (ctx.json) {
    writeJson(ctx.stdout, {
      command: 'models pull',
      name,
      repo: entry.repo,
      revision: entry.revision,
      files,
      transferred,
      ms: Math.round(performance.now() - t0),
    });
    return 0;
  }
  for (const f of files) {
    const what = f.cached
      ? 'already in the cache'
      : `${formatBytes(f.transferred)} transferred${f.resumedFrom ? ` (resumed at ${formatBytes(f.resumedFrom)})` : ''}, SHA-256 verified`;
    ctx.out(`${f.file}: ${formatBytes(f.bytes)}, ${what}: ${displayPath(f.path, ctx.cwd)}`);
  }
  return 0;
}

async function rmModel(ctx: Context, name: string): Promise<number> {
  const models = catalogue(ctx.env);
  const entry = findModel(name, models);
  const r = await removeModel(entry, models, hubSettings(ctx.env).cacheDir);
  if (ctx.json) writeJson(ctx.stdout, { command: 'models rm', name, freed: r.bytes, removed: r.removed, kept: r.kept });
  else
    ctx.out(
      r.bytes
        ? `removed ${r.removed.join(' and ')}: ${formatBytes(r.bytes)} freed${r.kept.length ? `; kept ${r.kept.join(', ')}` : ''}`
        : `${name} was not in the cache${r.kept.length ? ` (kept ${r.kept.join(', ')})` : ''}`,
    );
  return 0;
}
