/**
 * The hub's identity of a file: an LFS file's ETag is the SHA-256 of its bytes, a plain git file's is
 * the git blob SHA-1 (`sha1("blob {size}\0" + bytes)`). Both are checked before a file is used.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { EtagKind } from './etag.js';

export { etagKind, normalizeEtag, type EtagKind } from './etag.js';

/** The hasher for a file of `size` bytes with this etag kind. */
export function newHasher(kind: EtagKind, size: number): Hash {
  if (kind === 'sha256') return createHash('sha256');
  const h = createHash('sha1');
  h.update(`blob ${size}\0`);
  return h;
}

/** Feeds the first `bytes` of a file (a partial download being resumed) to the hasher. */
export async function hashPrefix(hash: Hash, file: string, bytes: number): Promise<void> {
  if (bytes <= 0) return;
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: 4 << 20 }))
    hash.update(chunk as Buffer);
}
