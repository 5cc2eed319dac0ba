/**
 * Writes a file so that it either appears complete or not at all: the bytes go to a temporary file
 * in the same folder (same filesystem), are flushed, and the temporary file is renamed over the
 * target. An abort before the rename removes the temporary file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AbortedError } from '@nextscale/core';
import { CliError } from '../errors.js';
import { trackTemporary } from '../signals.js';

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export async function writeFileAtomic(target: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  const tmp = tempPathFor(target);
  const untrack = trackTemporary(tmp);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (signal?.aborted) throw new AbortedError();
    await fsp.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    untrack();
  }
}

/**
 * A failed write as one usage line (full disk, permissions, read-only file system) naming the path and,
 * unless the disk is full, `fix` (what to pass instead); an abort stays an abort.
 */
export function writeError(
  target: string,
  err: unknown,
  fix = 'pass another --out folder',
  onFull = 'free some space and run the same command again (it resumes)',
): unknown {
  if ((err as { code?: string }).code === 'E_ABORTED') return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a path in it is a file, not a folder'
            : (err as Error).message;
  return new CliError('E_USAGE', `cannot write ${target} (${why})`, code === 'ENOSPC' ? onFull : fix);
}
