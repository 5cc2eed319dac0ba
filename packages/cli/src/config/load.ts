/**
 * Reads a config file (.json, .mjs or .ts) and validates it. Relative model paths are resolved
 * against the config file's folder.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError, configError } from '../errors.js';
import { CONFIG_KEYS_HELP, configSchema, describeConfigIssue, type ConfigFile } from './schema.js';

/** How long a .mjs/.ts config may take to evaluate (its top-level await, its default-exported function). */
export const CONFIG_LOAD_TIMEOUT_MS = 10_000;

export interface LoadedConfig {
  path: string;
  dir: string;
  config: ConfigFile;
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  const name = path.basename(abs);
  if (!existsSync(abs))
    throw configError(`config file ${abs} does not exist`, 'pass an existing file to --config / NEXTSCALE_CONFIG');
  let raw: unknown;
  if (abs.endsWith('.json')) {
    try {
      raw = JSON.parse(readFileSync(abs, 'utf8'));
    } catch (err) {
      throw configError(`${name}: not valid JSON (${(err as Error).message})`, 'fix the JSON syntax');
    }
  } else if (abs.endsWith('.mjs') || abs.endsWith('.js')) {
    raw = await importConfig(abs, name);
  } else if (abs.endsWith('.ts') || abs.endsWith('.mts')) {
    raw = await importTsConfig(abs, name);
  } else {
    throw configError(`${name}: unsupported config file type`, 'use nextscale.config.json, .mjs or .ts');
  }
  if (typeof raw === 'function') raw = await settled((raw as () => unknown)(), name);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw configError(describeConfigIssue(name, parsed.error), CONFIG_KEYS_HELP);
  return { path: abs, dir: path.dirname(abs), config: parsed.data };
}

async function importConfig(abs: string, name: string): Promise<unknown> {
  try {
    const mod = (await settled(import(pathToFileURL(abs).href), name)) as { default?: unknown };
    return mod.default ?? mod;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw configError(
      `${name}: failed to load (${(err as Error).message})`,
      'fix the module so that it default-exports the config object',
    );
  }
}

/**
 * Node 20 cannot import TypeScript by itself. Try it anyway (a loader such as tsx may be registered,
 * or a newer Node strips types); otherwise transpile with the project's own `typescript` package when
 * it has one; otherwise say what to do instead of crashing.
 */
async function importTsConfig(abs: string, name: string): Promise<unknown> {
  const features = process.features as { typescript?: string | false };
  const hasLoader =
    Boolean(features.typescript) || process.execArgv.some((a) => /tsx|ts-node|--loader|--import/.test(a));
  if (hasLoader) return importConfig(abs, name);
  let ts: { transpileModule(src: string, o: object): { outputText: string } } | undefined;
  try {
    const req = createRequire(abs);
    ts = req('typescript');
  } catch {
    ts = undefined;
  }
  if (!ts?.transpileModule) {
    throw configError(
      `${name}: Node ${process.version} cannot load a TypeScript config file (no TypeScript loader and no 'typescript' package in this project)`,
      'use nextscale.config.mjs or nextscale.config.json, or install typescript in the project',
    );
  }
  const out = ts.transpileModule(readFileSync(abs, 'utf8'), {
    compilerOptions: { module: 99 /* ESNext */, target: 9 /* ES2022 */ },
    fileName: abs,
  }).outputText;
  const tmp = path.join(
    path.dirname(abs),
    `.${path.basename(abs, path.extname(abs))}.${process.pid}.${Date.now()}.mjs`,
  );
  writeFileSync(tmp, out);
  try {
    return await importConfig(tmp, name);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * A config module's promise, or a one-line error when it has not settled in time. (A promise that
 * never settles leaves Node nothing to wait on: it would exit 13, silently, without this timer.)
 */
async function settled<T>(p: T | Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          configError(
            `${name}: did not finish loading in ${CONFIG_LOAD_TIMEOUT_MS / 1000} s (its top-level code waits on something that never comes)`,
            'make the config module export its object without waiting on network, input or timers',
          ),
        ),
      CONFIG_LOAD_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
