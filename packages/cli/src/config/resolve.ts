/**
 * Resolves every setting with its origin. Precedence: flags > environment > config file > model
 * metadata (sampling only) > defaults.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSettings, type Settings } from '@nextscale/core';
import { usageError, weightsError } from '../errors.js';
import { InvalidDefault } from '../model/metadata.js';
import type { Context } from '../context.js';
import { findConfig } from './find.js';
import { loadConfigFile, type LoadedConfig } from './load.js';

export type Source = 'flag' | 'env' | 'config' | 'model' | 'default' | 'shipped';
export interface Sourced<T> {
  value: T;
  source: Source;
  /** e.g. the env variable or config key the value came from. */
  from?: string;
}

export type PolicyName = 'norm' | 'priority' | 'explicit';

/** What the user can set; undefined means "not given here". */
export interface SettingsLayer {
  backends?: string[];
  engines?: string[];
  engine?: string;
  policy?: PolicyName;
  backend?: string;
  epsilon?: number;
  order?: string[];
  kappa?: number;
  gMax?: number;
  rMax?: number;
  betaCap?: number;
  backendOptions?: Record<string, Record<string, unknown>>;
  /** A released model by name (the catalogue of @nextscale/hub); instead of var/vae. */
  model?: string;
  var?: string;
  vae?: string;
  patchNums?: number[];
  numHeads?: number;
  cfg?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  moreSmooth?: boolean;
}

export type SamplingKey = 'cfg' | 'topK' | 'topP' | 'seed' | 'moreSmooth';
export const SAMPLING_DEFAULTS = { cfg: 1.5, topK: 900, topP: 0.96, seed: 0, moreSmooth: false } as const;

export interface ResolvedSettings {
  configFile?: string;
  backends: Sourced<string[] | undefined>;
  policy: Sourced<PolicyName>;
  backend: Sourced<string | undefined>;
  epsilon: Sourced<number | undefined>;
  order: Sourced<string[] | undefined>;
  kappa: Sourced<number | undefined>;
  gMax: Sourced<number | undefined>;
  rMax: Sourced<number | undefined>;
  betaCap: Sourced<number | undefined>;
  backendOptions: Sourced<Record<string, Record<string, unknown>> | undefined>;
  model: Sourced<string | undefined>;
  var: Sourced<string | undefined>;
  vae: Sourced<string | undefined>;
  patchNums: Sourced<number[] | undefined>;
  numHeads: Sourced<number | undefined>;
  cfg: Sourced<number>;
  topK: Sourced<number>;
  topP: Sourced<number>;
  seed: Sourced<number>;
  moreSmooth: Sourced<boolean>;
}

export const ENV = {
  backend: 'NEXTSCALE_BACKEND',
  policy: 'NEXTSCALE_POLICY',
  epsilon: 'NEXTSCALE_EPSILON',
  model: 'NEXTSCALE_MODEL',
  var: 'NEXTSCALE_VAR',
  vae: 'NEXTSCALE_VAE',
  config: 'NEXTSCALE_CONFIG',
} as const;

const POLICIES: PolicyName[] = ['norm', 'priority', 'explicit'];

export function parsePolicyName(value: string, where: string): PolicyName {
  const v = value.trim().toLowerCase();
  if (!POLICIES.includes(v as PolicyName))
    throw usageError(`${where}: unknown policy '${value}'`, `use one of ${POLICIES.join(', ')}`);
  return v as PolicyName;
}

export function parseNumber(
  value: string,
  where: string,
  opts: { int?: boolean; min?: number; max?: number; positive?: boolean } = {},
): number {
  const n = Number(value);
  const kind = opts.int ? 'an integer' : 'a number';
  if (value.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n))) {
    throw usageError(`${where} expects ${kind}, got '${value}'`);
  }
  if (opts.positive && n <= 0) throw usageError(`${where} must be positive, got ${value}`);
  if (opts.min !== undefined && n < opts.min) throw usageError(`${where} must be ≥ ${opts.min}, got ${value}`);
  if (opts.max !== undefined && n > opts.max) throw usageError(`${where} must be ≤ ${opts.max}, got ${value}`);
  return n;
}

export function parsePatchNums(value: string, where = '--patch-nums'): number[] {
  const parts = value.split(/[,\s]+/).filter(Boolean);
  if (!parts.length) throw usageError(`${where} is empty`, 'pass a comma list such as 1,2,3,4');
  return parts.map((p) => parseNumber(p, where, { int: true, positive: true }));
}

/**
 * The libraries' own NEXTSCALE_* variables (core's settings module, with its rules), read up front so that a bad
 * value is a usage error naming the variable, not an error from deep inside a kernel.
 */
export function environmentSettings(env: NodeJS.ProcessEnv): Settings {
  try {
    return readSettings(env);
  } catch (err) {
    throw usageError((err as Error).message, 'fix the variable, or unset it to use the default');
  }
}

/** The environment layer. */
export function envLayer(env: NodeJS.ProcessEnv, cwd: string): SettingsLayer {
  const layer: SettingsLayer = {};
  const get = (k: string) => {
    const v = env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const backend = get(ENV.backend);
  if (backend) layer.backend = backend;
  const policy = get(ENV.policy);
  if (policy) layer.policy = parsePolicyName(policy, ENV.policy);
  const eps = get(ENV.epsilon);
  if (eps) layer.epsilon = parseNumber(eps, ENV.epsilon, { positive: true });
  const model = get(ENV.model);
  if (model) layer.model = model;
  const v = get(ENV.var);
  if (v) layer.var = path.resolve(cwd, v);
  const vae = get(ENV.vae);
  if (vae) layer.vae = path.resolve(cwd, vae);
  return layer;
}

/** The config file layer, with model paths made absolute against the file's folder. */
export function fileLayer(loaded: LoadedConfig | undefined): SettingsLayer {
  if (!loaded) return {};
  const c = loaded.config;
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.resolve(loaded.dir, p));
  return stripUndefined({
    backends: c.backends,
    engines: c.engines,
    engine: c.engine,
    policy: c.policy?.name,
    backend: c.policy?.backend,
    epsilon: c.policy?.epsilon,
    order: c.policy?.order,
    kappa: c.policy?.kappa,
    gMax: c.policy?.gMax,
    rMax: c.policy?.rMax,
    betaCap: c.policy?.betaCap,
    backendOptions: c.backendOptions,
    model: c.model?.name,
    var: rel(c.model?.var),
    vae: rel(c.model?.vae),
    patchNums: c.model?.patchNums,
    numHeads: c.model?.numHeads,
    cfg: c.sampling?.cfg,
    topK: c.sampling?.topK,
    topP: c.sampling?.topP,
    seed: c.sampling?.seed,
    moreSmooth: c.sampling?.moreSmooth,
  });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Loads the config file named by --config / NEXTSCALE_CONFIG, or the nearest one above the cwd. */
export async function loadConfig(ctx: Context, explicitPath?: string): Promise<LoadedConfig | undefined> {
  const fromFlag = explicitPath;
  const fromEnv = ctx.env[ENV.config];
  const chosen = fromFlag ?? (fromEnv ? fromEnv : undefined);
  if (chosen) return loadConfigFile(path.resolve(ctx.cwd, chosen));
  const found = findConfig(ctx.cwd);
  if (!found) return undefined;
  for (const other of found.ignored) ctx.warn(`ignoring ${other} (using ${found.path})`);
  return loadConfigFile(found.path);
}

/** The model shipped with the CLI (packages/cli/assets/fashion-mnist), when it is installed. */
export function shippedModel(): { var: string; vae: string; dir: string } | undefined {
  const dir = fileURLToPath(new URL('../assets/fashion-mnist/', import.meta.url));
  const v = path.join(dir, 'var.safetensors');
  const vae = path.join(dir, 'vae.safetensors');
  return existsSync(v) && existsSync(vae) ? { var: v, vae, dir } : undefined;
}

/**
 * Merges the layers. `modelDefaults` are the sampling settings a model ships in its metadata; they
 * beat the built-in defaults but nothing the user set.
 */
export function resolveSettings(
  layers: { flags: SettingsLayer; env: SettingsLayer; file: SettingsLayer; configFile?: string },
  modelDefaults: Partial<Record<SamplingKey, number | boolean | InvalidDefault>> = {},
  defaultPolicy: PolicyName = 'norm',
): ResolvedSettings {
  const { flags, env, file } = layers;
  const pick = <K extends keyof SettingsLayer>(key: K): Sourced<SettingsLayer[K]> | undefined => {
    if (flags[key] !== undefined) return { value: flags[key], source: 'flag' };
    if (env[key] !== undefined) return { value: env[key], source: 'env' };
    if (file[key] !== undefined) return { value: file[key], source: 'config' };
    return undefined;
  };
  const opt = <K extends keyof SettingsLayer>(key: K): Sourced<SettingsLayer[K]> =>
    pick(key) ?? { value: undefined, source: 'default' };
  const sampling = <K extends SamplingKey>(key: K): Sourced<NonNullable<SettingsLayer[K]>> => {
    const p = pick(key);
    if (p) return p as Sourced<NonNullable<SettingsLayer[K]>>;
    const m = modelDefaults[key];
    if (m instanceof InvalidDefault) {
      const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw weightsError(
        `the model's metadata sets ${m.found}, which is not ${m.expected}`,
        `pass ${flag} to override it, or fix the metadata of the VAR file`,
      );
    }
    if (m !== undefined) return { value: m as NonNullable<SettingsLayer[K]>, source: 'model' };
    return { value: SAMPLING_DEFAULTS[key] as NonNullable<SettingsLayer[K]>, source: 'default' };
  };

  // An explicit backend at a layer implies the explicit policy at that layer, unless that layer
  // also names a policy; a higher layer always wins.
  let policy: Sourced<PolicyName> = { value: defaultPolicy, source: 'default' };
  for (const [layer, source] of [
    [file, 'config'],
    [env, 'env'],
    [flags, 'flag'],
  ] as const) {
    if (layer.policy && layer.policy !== 'explicit' && layer.backend) {
      throw usageError(
        `${source === 'flag' ? '--backend' : 'a backend'} and the ${layer.policy} policy are both set (${source})`,
        `drop one: the ${layer.policy} policy picks backends itself; --backend ${layer.backend} forces one`,
      );
    }
    if (layer.policy) policy = { value: layer.policy, source };
    else if (layer.backend) policy = { value: 'explicit', source, from: 'backend' };
  }
  const backend = opt('backend');
  if (policy.value === 'explicit' && !backend.value) {
    throw usageError('the explicit policy needs a backend', 'pass --backend <id> (e.g. --backend cpu)');
  }
  return {
    configFile: layers.configFile,
    backends: opt('backends'),
    policy,
    backend,
    epsilon: opt('epsilon'),
    order: opt('order'),
    kappa: opt('kappa'),
    gMax: opt('gMax'),
    rMax: opt('rMax'),
    betaCap: opt('betaCap'),
    backendOptions: opt('backendOptions'),
    model: opt('model'),
    var: opt('var'),
    vae: opt('vae'),
    patchNums: opt('patchNums'),
    numHeads: opt('numHeads'),
    cfg: sampling('cfg'),
    topK: sampling('topK'),
    topP: sampling('topP'),
    seed: sampling('seed'),
    moreSmooth: sampling('moreSmooth'),
  };
}

/** `--print-config`: each value with where it came from. */
export function formatSettings(s: ResolvedSettings): string {
  const rows: [string, string, string][] = [];
  const show = (v: unknown) =>
    v === undefined
      ? '(unset)'
      : Array.isArray(v)
        ? v.join(',')
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  for (const [key, val] of Object.entries(s) as [string, Sourced<unknown> | string | undefined][]) {
    if (key === 'configFile') continue;
    const sv = val as Sourced<unknown>;
    rows.push([key, show(sv.value), sv.from ? `${sv.source} (${sv.from})` : sv.source]);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const head = `config file: ${s.configFile ?? '(none found)'}\n`;
  return head + rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`).join('\n') + '\n';
}

export function settingsToJSON(s: ResolvedSettings): Record<string, unknown> {
  const out: Record<string, unknown> = { configFile: s.configFile ?? null };
  for (const [key, val] of Object.entries(s)) {
    if (key === 'configFile') continue;
    const sv = val as Sourced<unknown>;
    out[key] = { value: sv.value ?? null, source: sv.source, ...(sv.from ? { from: sv.from } : {}) };
  }
  return out;
}
