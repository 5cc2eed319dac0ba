/**
 * The hub's identity of a file: an LFS file's ETag is the SHA-256 of its bytes, a plain git file's is
 * the git blob SHA-1 (`sha1("blob {size}\0" + bytes)`). Both are checked before a file is used.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type EtagKind = 'sha256' | 'git-sha1';

export function etagKind(etag: string): EtagKind | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return undefined;
}

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

/** ETag headers come quoted and sometimes weak: W/"abc" → abc. */
export const normalizeEtag = (v: string | null | undefined) =>
  v ? v.trim().replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
