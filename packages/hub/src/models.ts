/** A catalogue model's two files: fetched together, listed with their cache state, removed. */
import { findCached, removeCached, repoFolder } from './cache.js';
import type { ModelEntry } from './catalogue.js';
import { downloadFile, type DownloadOptions, type DownloadedFile } from './download.js';
import { hubSettings } from './settings.js';

export type ModelFileRole = 'var' | 'vae';
const ROLES: ModelFileRole[] = ['var', 'vae'];

export interface FetchedModel {
  entry: ModelEntry;
  var: DownloadedFile;
  vae: DownloadedFile;
}

/** Downloads (or finds in the cache) the model's VAR and VQ-VAE files, one after the other. */
export async function ensureModel(
  entry: ModelEntry,
  o: Omit<DownloadOptions, 'repo' | 'file' | 'revision'> = {},
): Promise<FetchedModel> {
  const settings = o.settings ?? hubSettings();
  const got: Partial<Record<ModelFileRole, DownloadedFile>> = {};
  for (const role of ROLES)
    got[role] = await downloadFile({
      ...o,
      settings,
      repo: entry.repo,
      revision: entry.revision,
      file: entry.files[role],
    });
  return { entry, var: got.var!, vae: got.vae! };
}

export interface ModelCacheState {
  entry: ModelEntry;
  /** Each file's snapshot path when the cache holds it for the entry's revision. */
  files: Record<ModelFileRole, { path: string; bytes: number } | undefined>;
  cached: boolean;
  folder: string;
}

export function modelCacheState(entry: ModelEntry, cacheDir = hubSettings().cacheDir): ModelCacheState {
  const files = {} as ModelCacheState['files'];
  for (const role of ROLES) {
    const c = findCached(cacheDir, entry.repo, entry.revision, entry.files[role]);
    files[role] = c && { path: c.path, bytes: c.bytes };
  }
  return { entry, files, cached: !!files.var && !!files.vae, folder: repoFolder(cacheDir, entry.repo) };
}

/**
 * Removes the model's transformer file, and its VQ-VAE file unless another catalogue model that is
 * still cached shares it. Returns the bytes freed and the files removed.
 */
export async function removeModel(
  entry: ModelEntry,
  others: readonly ModelEntry[],
  cacheDir = hubSettings().cacheDir,
): Promise<{ bytes: number; removed: string[]; kept: string[] }> {
  const removed: string[] = [];
  const kept: string[] = [];
  let bytes = 0;
  const free = async (file: string) => {
    const n = await removeCached(cacheDir, entry.repo, entry.revision, file);
    if (n > 0) removed.push(file);
    bytes += n;
  };
  await free(entry.files.var);
  const sharing = others.filter(
    (m) =>
      m.name !== entry.name &&
      m.repo === entry.repo &&
      m.files.vae === entry.files.vae &&
      findCached(cacheDir, m.repo, m.revision, m.files.var) !== undefined,
  );
  if (sharing.length) kept.push(`${entry.files.vae} (used by ${sharing.map((m) => m.name).join(', ')})`);
  else await free(entry.files.vae);
  return { bytes, removed, kept };
}
