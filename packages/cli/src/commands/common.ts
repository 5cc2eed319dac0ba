/** Option helpers shared by the commands. */
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { envLayer, fileLayer, loadConfig, type SettingsLayer } from '../config/resolve.js';
import type { LoadedConfig } from '../config/load.js';
import type { PlugKind } from '@nextscale/core';
import { discoverPlugs, PLUG_KINDS, type Discovery } from '../plugs/discover.js';

export interface CommonOptions {
  json?: boolean;
  debug?: boolean;
  verbose?: boolean;
  config?: string;
}

/**
 * Turns a command's run function into a commander action: the program builds the context from the
 * command's flags and records the exit code.
 */
export type Wrap = <F extends CommonOptions>(
  run: (ctx: Context, flags: F, ...args: string[]) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

export function addCommonOptions(cmd: Command, o: { config?: boolean } = {}): Command {
  cmd.option('--json', 'print one JSON document on stdout (logs stay on stderr)');
  if (o.config !== false)
    cmd.option('--config <path>', 'config file (default: nextscale.config.{json,mjs,ts} from the cwd upward)');
  cmd.option('--verbose', 'log each step on stderr even when it is not a terminal');
  cmd.option('--debug', 'print stack traces of internal errors');
  return cmd;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface Layers {
  loaded?: LoadedConfig;
  file: SettingsLayer;
  env: SettingsLayer;
}

export async function readLayers(ctx: Context, configPath?: string): Promise<Layers> {
  const loaded = await loadConfig(ctx, configPath);
  return { loaded, file: fileLayer(loaded), env: envLayer(ctx.env, ctx.cwd) };
}

/** Plugs of `kind` named in the config file, else everything discoverable. Warnings for broken packages. */
export async function discover<K extends PlugKind = 'attention'>(
  ctx: Context,
  layers: Layers,
  kind: K = 'attention' as K,
): Promise<Discovery<K>> {
  const d = await discoverPlugs(kind, {
    cwd: ctx.cwd,
    packages: layers.file[PLUG_KINDS[kind].configKey],
    configDir: layers.loaded?.dir,
  });
  const what = kind === 'attention' ? 'backend' : 'engine';
  for (const name of d.missing)
    ctx.warn(
      `${what} package ${name} (named in ${layers.loaded?.path ?? 'the config'}) is not installed; npm i ${name}`,
    );
  for (const l of d.loaded) if (l.error) ctx.warn(`${what} package ${l.name} cannot be used: ${l.error}`);
  return d;
}

/** `--engine <id>` for every command that computes (generate, bench, …). */
export function addEngineOption(cmd: Command): Command {
  return cmd.option(
    '--engine <id>',
    'dense engine to compute on: js, wasm, onnx, … (default: NEXTSCALE_ENGINE, config "engine", else the best installed)',
  );
}
