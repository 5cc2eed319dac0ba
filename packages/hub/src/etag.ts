/**
 * The hub's identity of a file as its headers give it (browser-safe: no node: imports): an LFS file's ETag is the
 * SHA-256 of its bytes, a plain git file's the git blob SHA-1.
 */
export type EtagKind = 'sha256' | 'git-sha1';

export function etagKind(etag: string): EtagKind | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return undefined;
}

/** ETag headers come quoted and sometimes weak: W/"abc" → abc. */
export const normalizeEtag = (v: string | null | undefined) =>
  v ? v.trim().replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
