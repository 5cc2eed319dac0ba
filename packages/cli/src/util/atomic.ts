/**
 * Writes a file so that it either appears complete or not at all: the bytes go to a temporary file
 * in the same folder (same filesystem), are flushed, and the temporary file is renamed over the
 * target. An abort before the rename removes the temporary file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AbortedError } from '@nextscale/core';
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
