/** `nextscale backends`: what is installed, whether it can run here and how, and how to add the rest. */
import { Command } from 'commander';
import type { Context } from '../context.js';
import { KNOWN_BACKENDS, KNOWN_ENGINES } from '../plugs/discover.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { table } from '../output/table.js';
import { addCommonOptions, addEngineOption, discover, readLayers, type CommonOptions, type Wrap } from './common.js';
import { engineChoice, describeSource } from '../engines/activate.js';
import { selectEngine } from '@nextscale/core';

export function backendsCommand(wrap: Wrap): Command {
  const cmd = new Command('backends').description(
    'list the attention backends and dense engines installed, their probe results, and the engine that would run',
  );
  addEngineOption(cmd);
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: CommonOptions & { engine?: string }) => runBackends(ctx, flags)));
}

/** The engines found, their probes, and which one a computing command would run on (without creating it). */
async function listEngines(ctx: Context, layers: Awaited<ReturnType<typeof readLayers>>, flag: string | undefined) {
  const d = await discover(ctx, layers, 'engine');
  const probes = await d.registry.probeAll();
  const choice = engineChoice(ctx, layers, flag);
  let active: { id: string; source: string } | { error: string };
  try {
    // selection without creating: a named id must be installed and available; else the best available
    const named =
      choice.id === undefined
        ? undefined
        : d.registry.get(choice.id.trim().toLowerCase() === 'wasm-pool' ? 'wasm' : choice.id.trim().toLowerCase());
    if (choice.id !== undefined) {
      const probe = named && probes.find((p) => p.descriptor === named)?.probe;
      if (!named || !probe?.available) await selectEngine({ registry: d.registry, engine: choice.id, env: {} }); // throws the reason
      active = { id: named!.id, source: describeSource(choice.source) };
    } else {
      active = { id: probes.find((p) => p.probe.available)!.descriptor.id, source: describeSource('priority') };
    }
  } catch (err) {
    active = { error: (err as Error).message };
  }
  const engines = probes.map(({ descriptor, probe }) => ({
    id: descriptor.id,
    package: descriptor.package,
    version: descriptor.version,
    priority: descriptor.priority,
    from: d.loaded.find((l) => l.descriptor === descriptor)?.from ?? 'core',
    available: probe.available,
    reason: probe.reason,
    details: probe.details ?? null,
    active: 'id' in active && active.id === descriptor.id,
  }));
  const broken = d.loaded.filter((l) => l.error).map((l) => ({ package: l.name, error: l.error! }));
  const have = new Set(engines.map((e) => e.package));
  const notInstalled = KNOWN_ENGINES.filter((k) => !have.has(k.package)).map((k) => ({
    id: k.id,
    package: k.package,
    what: k.what,
    install: `npm i ${k.package}`,
  }));
  return { engines, active, broken, notInstalled, missingFromConfig: d.missing };
}

export async function runBackends(ctx: Context, flags: CommonOptions & { engine?: string }): Promise<number> {
  const layers = await readLayers(ctx, flags.config);
  const d = await discover(ctx, layers);
  const eng = await listEngines(ctx, layers, flags.engine);
  const probes = new Map((await d.registry.probeAll()).map((a) => [a.descriptor.id, a.probe]));
  const installed = d.loaded.map((l) => {
    const probe = l.descriptor ? probes.get(l.descriptor.id) : undefined;
    return {
      id: l.descriptor?.id ?? null,
      package: l.name,
      version: l.descriptor?.version ?? l.version,
      from: l.from,
      dir: l.dir,
      exact: l.descriptor?.exact ?? null,
      priority: l.descriptor?.priority ?? null,
      apiVersion: l.descriptor?.apiVersion ?? null,
      capabilities: l.descriptor?.capabilities ?? null,
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
      engines: eng,
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
    text +=
      'installed backend packages are found automatically in the project\'s node_modules, or list them in nextscale.config "backends".\n';
  }
  text += '\ndense engines:\n';
  text += table(
    ['id', 'package', 'priority', 'available', 'probe', 'active'],
    eng.engines.map((e) => [
      e.id,
      `${e.package}@${e.version}`,
      String(e.priority),
      e.available ? 'yes' : 'no',
      e.reason,
      e.active ? 'yes' : '',
    ]),
  );
  text +=
    'id' in eng.active
      ? `active engine: ${eng.active.id} (${eng.active.source})\n`
      : `active engine: none — ${eng.active.error}\n`;
  for (const b of eng.broken) text += `engine package ${b.package} cannot be used: ${b.error}\n`;
  for (const k of eng.notInstalled) text += `  not installed: ${k.id.padEnd(6)} ${k.what} — ${k.install}\n`;
  ctx.out(text);
  return 0;
}

function capabilitiesText(c: {
  masks: string[];
  incrementalState: boolean;
  dtypes: string[];
  maxHeadDim?: number;
  maxTokens?: number;
}): string {
  const parts = [`masks ${c.masks.join('/')}`, c.incrementalState ? 'kv-state' : 'no kv-state', c.dtypes.join('/')];
  if (c.maxHeadDim) parts.push(`d≤${c.maxHeadDim}`);
  if (c.maxTokens) parts.push(`L≤${c.maxTokens}`);
  return parts.join(', ');
}
