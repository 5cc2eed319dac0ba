/**
 * Chooses the dense engine a command computes on and makes it active: `--engine` > NEXTSCALE_ENGINE > config
 * "engine" > the highest-priority available engine found. NEXTSCALE_THREADS sizes it (create({ threads })). A named
 * engine that is missing or cannot run is an EngineUnavailableError (exit 4) naming the package; never a fallback.
 */
import { selectEngine, setDenseEngine, type DenseEngine } from '@nextscale/core';
import type { Context } from '../context.js';
import { environmentSettings } from '../config/resolve.js';
import { discover, type Layers } from '../commands/common.js';
import type { Discovery } from '../plugs/discover.js';

export interface ActiveEngine {
  id: string;
  name: string;
  package: string;
  version: string;
  /** Where the choice came from: the flag, NEXTSCALE_ENGINE, the config file, or the highest priority found. */
  source: 'flag' | 'env' | 'config' | 'priority';
  threads: number | null;
  /** Higher-priority engines passed over because they cannot run here (priority choice only). */
  skipped: { id: string; package: string; reason: string }[];
  engine: DenseEngine;
}

/** The engine this command runs on, from the flag / environment / config (see the module comment). */
export function engineChoice(
  ctx: Context,
  layers: Layers,
  flag: string | undefined,
): { id?: string; source: ActiveEngine['source'] } {
  if (flag) return { id: flag, source: 'flag' };
  const env = environmentSettings(ctx.env).engine;
  if (env) return { id: env, source: 'env' };
  if (layers.file.engine) return { id: layers.file.engine, source: 'config' };
  return { source: 'priority' };
}

export async function activateEngine(
  ctx: Context,
  layers: Layers,
  flag: string | undefined,
  discovery?: Discovery<'engine'>,
): Promise<ActiveEngine> {
  const d = discovery ?? (await discover(ctx, layers, 'engine'));
  const choice = engineChoice(ctx, layers, flag);
  const { threads } = environmentSettings(ctx.env);
  const s = await selectEngine({
    registry: d.registry,
    env: {},
    ...(choice.id === undefined ? {} : { engine: choice.id }),
    ...(threads === undefined ? {} : { threads }),
  });
  setDenseEngine(s.engine);
  for (const k of s.skipped) {
    ctx.warn(
      `dense engine ${k.descriptor.id} (${k.descriptor.package}) is installed but cannot run here: ${k.reason}; computing on ${s.engine.id} instead (fix or remove ${k.descriptor.package}, or choose with --engine)`,
    );
  }
  ctx.log(
    `dense engine: ${s.engine.id} (${s.engine.name}, ${s.descriptor.package}@${s.descriptor.version}; ${describeSource(choice.source)})`,
  );
  return {
    id: s.engine.id,
    name: s.engine.name,
    package: s.descriptor.package,
    version: s.descriptor.version,
    source: choice.source,
    threads: threads ?? null,
    skipped: s.skipped.map((k) => ({ id: k.descriptor.id, package: k.descriptor.package, reason: k.reason })),
    engine: s.engine,
  };
}

export function describeSource(source: ActiveEngine['source']): string {
  return {
    flag: '--engine',
    env: 'NEXTSCALE_ENGINE',
    config: 'config "engine"',
    priority: 'highest priority available',
  }[source];
}

/** The engine for --json output (without the live object). */
export function engineToJSON(e: ActiveEngine): Omit<ActiveEngine, 'engine'> {
  const { engine: _e, ...rest } = e;
  return rest;
}
