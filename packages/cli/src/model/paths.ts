/**
 * Which VAR and VQ-VAE files to load: a released model by name (fetched into the Hugging Face cache),
 * the user's paths, or the shipped model. The name and the paths are alternatives: the highest layer
 * (flag > environment > config) that sets either decides, and one layer setting both is refused.
 */
import { existsSync, statSync } from 'node:fs';
import {
  catalogue,
  ensureModel,
  findCached,
  findModel,
  hubSettings,
  type HubEvent,
  type ModelEntry,
  type DownloadedFile,
} from '@nextscale/hub';
import { shippedModel, type ResolvedSettings, type Source } from '../config/resolve.js';
import { usageError, weightsError } from '../errors.js';

/** What to load, decided before anything slow happens. */
export type ModelChoice =
  | { kind: 'named'; entry: ModelEntry; source: Source }
  | { kind: 'paths'; var: string; vae: string; shipped: boolean };

export interface ModelPaths {
  var: string;
  vae: string;
  shipped: boolean;
  /** Set when the files came by name: the catalogue entry and what each download did. */
  named?: { entry: ModelEntry; var: DownloadedFile; vae: DownloadedFile };
}

const RANK: Partial<Record<Source, number>> = { flag: 3, env: 2, config: 1 };
const WHERE: Partial<Record<Source, string>> = {
  flag: '--model and --var/--vae',
  env: 'NEXTSCALE_MODEL and NEXTSCALE_VAR/NEXTSCALE_VAE',
  config: "the config file's model.name and model.var/vae",
};

/**
 * Decides between a name, paths and the shipped model, and validates what can be checked without
 * a download (a known name; paths that exist). Fills settings.var/vae for the shipped model.
 */
export function chooseModel(settings: ResolvedSettings, env: NodeJS.ProcessEnv): ModelChoice {
  const name = settings.model;
  const pathRank = Math.max(
    settings.var.value ? (RANK[settings.var.source] ?? 0) : 0,
    settings.vae.value ? (RANK[settings.vae.source] ?? 0) : 0,
  );
  const nameRank = name.value ? (RANK[name.source] ?? 0) : 0;
  if (nameRank && nameRank === pathRank) {
    throw usageError(
      `both a model name and weights paths are given (${WHERE[name.source]})`,
      `pass either --model <name> or --var <file> --vae <file>`,
    );
  }
  if (nameRank > pathRank) {
    const entry = findModel(name.value!, catalogue(env));
    settings.var = { value: undefined, source: 'default' };
    settings.vae = { value: undefined, source: 'default' };
    return { kind: 'named', entry, source: name.source };
  }
  if (name.value) settings.model = { value: undefined, source: 'default' };
  const v = settings.var.value;
  const vae = settings.vae.value;
  if (!v && !vae) {
    const shipped = shippedModel();
    if (!shipped) {
      throw usageError(
        'no model given and the default model is not installed with this CLI',
        "pass --model <name> ('nextscale models' lists them) or --var <var.pth|.safetensors> and --vae <vae.pth|.safetensors>",
      );
    }
    settings.var = { value: shipped.var, source: 'shipped' };
    settings.vae = { value: shipped.vae, source: 'shipped' };
    return { kind: 'paths', var: shipped.var, vae: shipped.vae, shipped: true };
  }
  if (!v)
    throw usageError('--vae was given without --var', 'pass both --var and --vae (they must belong to the same model)');
  if (!vae)
    throw usageError('--var was given without --vae', 'pass both --var and --vae (they must belong to the same model)');
  for (const [what, p] of [
    ['VAR', v],
    ['VQ-VAE', vae],
  ] as const) {
    if (!existsSync(p)) throw weightsError(`${what} weights file ${p} does not exist`, 'check the path');
    if (!statSync(p).isFile())
      throw weightsError(`${what} weights path ${p} is not a file`, 'pass the .pth or .safetensors file itself');
  }
  return { kind: 'paths', var: v, vae, shipped: false };
}

/** The files of the choice: a name's are downloaded (or found in the cache) here; settings.var/vae record them. */
export async function fetchModel(
  choice: ModelChoice,
  settings: ResolvedSettings,
  o: { env: NodeJS.ProcessEnv; signal: AbortSignal; onEvent: (e: HubEvent) => void },
): Promise<ModelPaths> {
  if (choice.kind === 'paths') return { var: choice.var, vae: choice.vae, shipped: choice.shipped };
  const got = await ensureModel(choice.entry, { settings: hubSettings(o.env), signal: o.signal, onEvent: o.onEvent });
  const from = `model ${choice.entry.name}`;
  settings.var = { value: got.var.path, source: choice.source, from };
  settings.vae = { value: got.vae.path, source: choice.source, from };
  return {
    var: got.var.path,
    vae: got.vae.path,
    shipped: false,
    named: { entry: choice.entry, var: got.var, vae: got.vae },
  };
}

/** For --print-config: the cached VAR file of a name, without downloading (undefined when not cached). */
export function cachedVarFile(choice: ModelChoice, env: NodeJS.ProcessEnv): string | undefined {
  if (choice.kind === 'paths') return choice.var;
  const e = choice.entry;
  return findCached(hubSettings(env).cacheDir, e.repo, e.revision, e.files.var)?.path;
}
