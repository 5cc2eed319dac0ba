/** `nextscale backends`: what is installed, whether it can run here and how, and how to add the rest. */
import { Command } from 'commander';
import type { Context } from '../context.js';
import { KNOWN_BACKENDS } from '../backends/discover.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { table } from '../output/table.js';
import { addCommonOptions, discover, readLayers, type CommonOptions, type Wrap } from './common.js';

export function backendsCommand(wrap: Wrap): Command {
  const cmd = new Command('backends').description('list the attention backends installed, their probe results and capabilities');
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: CommonOptions) => runBackends(ctx, flags)));
}

export async function runBackends(ctx: Context, flags: CommonOptions): Promise<number> {
  const layers = await readLayers(ctx, flags.config);
  const d = await discover(ctx, layers);
  const probes = new Map((await d.registry.probeAll()).map((a) => [a.backend.id, a.probe]));
  const installed = d.loaded.map((l) => {
    const probe = l.backend ? probes.get(l.backend.id) : undefined;
    return {
      id: l.backend?.id ?? null,
      package: l.name,
      version: l.backend?.version ?? l.version,
      from: l.from,
      dir: l.dir,
      exact: l.backend?.exact ?? null,
      priority: l.backend?.priority ?? null,
      apiVersion: l.backend?.apiVersion ?? null,
      capabilities: l.backend?.capabilities ?? null,
      available: probe?.available ?? false,
      reason: probe?.reason ?? l.error ?? 'not loaded',
      details: probe?.details ?? null,
      error: l.error ?? null,
    };
  });
  const ids = new Set(installed.map((i) => i.id));
  const names = new Set(installed.map((i) => i.package));
  const notInstalled = KNOWN_BACKENDS.filter((k) => !ids.has(k.id) && !names.has(k.package)).map((k) => ({
    id: k.id,
    package: k.package,
    what: k.what,
    install: `npm i ${k.package}`,
  }));
  const missingFromConfig = d.missing.map((name) => ({ package: name, install: `npm i ${name}` }));

  if (ctx.json) {
    writeJson(ctx.stdout, {
      command: 'backends',
      configFile: layers.loaded?.path ?? null,
      discovery: layers.file.backends ? 'config' : 'scan',
      installed,
      missingFromConfig,
      notInstalled,
    });
    return 0;
  }
  const rows = installed.map((i) => [
    i.id ?? '?',
    `${i.package}@${i.version}`,
    i.from === 'cli' ? 'cli' : i.from === 'config' ? 'config' : 'project',
    i.exact === null ? '' : i.exact ? 'exact' : 'approx',
    i.capabilities ? capabilitiesText(i.capabilities) : '',
    i.available ? 'yes' : 'no',
    i.reason,
  ]);
  let text = `installed attention backends${layers.loaded && layers.file.backends ? ` (the packages named in ${displayPath(layers.loaded.path, ctx.cwd)})` : ''}:\n`;
  text += table(['id', 'package', 'from', 'kind', 'capabilities', 'available', 'probe'], rows);
  for (const m of missingFromConfig) text += `\nconfigured but not installed: ${m.package} — ${m.install}\n`;
  if (notInstalled.length) {
    text += '\nnot installed:\n';
    for (const k of notInstalled) text += `  ${k.id.padEnd(8)} ${k.what} — ${k.install}\n`;
    text += 'installed backend packages are found automatically in the project\'s node_modules, or list them in nextscale.config "backends".\n';
  }
  ctx.out(text);
  return 0;
}

function capabilitiesText(c: { masks: string[]; incrementalState: boolean; dtypes: string[]; maxHeadDim?: number; maxTokens?: number }): string {
  const parts = [`masks ${c.masks.join('/')}`, c.incrementalState ? 'kv-state' : 'no kv-state', c.dtypes.join('/')];
  if (c.maxHeadDim) parts.push(`d≤${c.maxHeadDim}`);
  if (c.maxTokens) parts.push(`L≤${c.maxTokens}`);
  return parts.join(', ');
}
