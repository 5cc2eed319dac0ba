/**
 * The huggingface_hub cache layout, read and written exactly as Python writes it, so that either side
 * uses the other's downloads:
 *
 *   {cacheDir}/models--{org}--{name}/blobs/{etag}                 the file's bytes (etag = LFS sha256 or git sha1)
 *   {cacheDir}/models--{org}--{name}/blobs/{etag}.incomplete      a download in progress (resumable)
 *   {cacheDir}/models--{org}--{name}/snapshots/{commit}/{file}    a relative symlink to the blob
 *   {cacheDir}/models--{org}--{name}/refs/{revision}              the commit the revision pointed to
 *
 * Every placement is atomic (write a temporary name, then rename), so a file is complete or absent.
 */
import { promises as fsp, existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { HubError } from './errors.js';
import { isCommitHash } from './names.js';

export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

export const blobPath = (cacheDir: string, repo: string, etag: string) =>
  path.join(repoFolder(cacheDir, repo), 'blobs', etag);
export const incompletePath = (cacheDir: string, repo: string, etag: string) =>
  `${blobPath(cacheDir, repo, etag)}.incomplete`;
export const snapshotPath = (cacheDir: string, repo: string, commit: string, file: string) =>
  path.join(repoFolder(cacheDir, repo), 'snapshots', commit, ...file.split('/'));

/** The commit a revision points to in the cache: the revision itself when it is a commit hash, else refs/{revision}. */
export function cachedCommit(cacheDir: string, repo: string, revision: string): string | undefined {
  if (isCommitHash(revision)) return revision;
  const ref = path.join(repoFolder(cacheDir, repo), 'refs', ...revision.split('/'));
  if (!existsSync(ref)) return undefined;
  const commit = readFileSync(ref, 'utf8').trim();
  return isCommitHash(commit) ? commit : undefined;
}

export interface CachedFile {
  /** The snapshot path (a symlink into blobs/, or a plain file when symlinks were unavailable to the writer). */
  path: string;
  commit: string;
  bytes: number;
  /** The blob's name: the etag it was stored under, when the snapshot entry is a symlink. */
  etag?: string;
}

/** The file as the cache holds it for this revision, or undefined (a dangling symlink counts as absent). */
export function findCached(cacheDir: string, repo: string, revision: string, file: string): CachedFile | undefined {
  const commit = cachedCommit(cacheDir, repo, revision);
  if (!commit) return undefined;
  const p = snapshotPath(cacheDir, repo, commit, file);
  try {
    const st = statSync(p);
    if (!st.isFile()) return undefined;
    const etag = lstatSync(p).isSymbolicLink() ? path.basename(realpathSync(p)) : undefined;
    return { path: p, commit, bytes: st.size, etag };
  } catch {
    return undefined;
  }
}

async function atomicSymlink(target: string, linkPath: string): Promise<void> {
  const tmp = `${linkPath}.${process.pid}.${Date.now()}.tmp`;
  await fsp.symlink(target, tmp);
  await fsp.rename(tmp, linkPath);
}

async function atomicWrite(file: string, text: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fsp.writeFile(tmp, text);
  await fsp.rename(tmp, file);
}

/** Points snapshots/{commit}/{file} at the blob (relative, as Python does) and records refs/{revision}. */
export async function linkSnapshot(
  cacheDir: string,
  repo: string,
  o: { etag: string; commit: string; revision: string; file: string },
): Promise<string> {
  const link = snapshotPath(cacheDir, repo, o.commit, o.file);
  const blob = blobPath(cacheDir, repo, o.etag);
  try {
    await fsp.mkdir(path.dirname(link), { recursive: true });
    const relative = path.relative(path.dirname(link), blob);
    const current = await fsp.readlink(link).catch(() => undefined);
    if (current !== relative) await atomicSymlink(relative, link);
    if (o.revision !== o.commit)
      await atomicWrite(path.join(repoFolder(cacheDir, repo), 'refs', ...o.revision.split('/')), o.commit);
  } catch (err) {
    throw cacheError(err, repoFolder(cacheDir, repo));
  }
  return link;
}

/** Moves a verified download to its blob name (same folder, so the rename is atomic). */
export async function placeBlob(incomplete: string, blob: string): Promise<void> {
  await fsp.rename(incomplete, blob);
}

/**
 * Removes a file's snapshot entry, and its blob when no other snapshot entry of the repository points
 * at it. Returns the bytes freed.
 */
export async function removeCached(cacheDir: string, repo: string, revision: string, file: string): Promise<number> {
  const found = findCached(cacheDir, repo, revision, file);
  if (!found) return 0;
  await fsp.rm(found.path, { force: true });
  if (!found.etag) return found.bytes;
  const blob = blobPath(cacheDir, repo, found.etag);
  if (await stillLinked(path.join(repoFolder(cacheDir, repo), 'snapshots'), blob)) return 0;
  await fsp.rm(blob, { force: true });
  return found.bytes;
}

async function stillLinked(dir: string, blob: string): Promise<boolean> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (await stillLinked(p, blob)) return true;
    } else if (e.isSymbolicLink()) {
      const target = path.resolve(dir, await fsp.readlink(p));
      if (target === blob) return true;
    }
  }
  return false;
}

export function cacheError(err: unknown, where: string): HubError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new HubError(
      'disk-full',
      `the disk holding ${where} is full`,
      'free some space, or point HF_HUB_CACHE (or HF_HOME) at a larger disk',
      { cause: err },
    );
  }
  if (err instanceof HubError) return err;
  return new HubError(
    'cache',
    `cannot write the model cache at ${where}: ${(err as Error)?.message ?? err}`,
    'check its permissions, or point HF_HUB_CACHE at a writable folder',
    { cause: err },
  );
}
