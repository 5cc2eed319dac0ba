/**
 * A released model's file from the Hugging Face Hub into the browser's Cache Storage (cache `nextscale-hub-v1`,
 * apart from the service worker's per-build `nextscale-web-*` caches, so a new build keeps the downloads):
 *
 * - GET `{endpoint}/{repo}/resolve/{revision}/{file}` (the hub package's resolveUrl). The browser follows the
 *   hub's redirect to its content server itself, so the file's identity is read off the final response: its
 *   X-Linked-Etag, else its ETag, which for an LFS file is the SHA-256 of the bytes (what the hub's own redirect
 *   announces as X-Linked-Etag). Only a SHA-256 is accepted: it is what every released .pth has, and a file that
 *   cannot be verified is not used.
 * - The body is stored as it arrives in chunks of CHUNK bytes (`…?nextscale=part-{i}`) and hashed on the way
 *   (@noble/hashes' incremental SHA-256: WebCrypto's digest wants the whole file in one buffer). A manifest (`…?nextscale=manifest`) names the etag and size; it says `complete` only once
 *   every byte is stored and the digest equals the etag. A mismatch, a body longer or shorter than announced,
 *   deletes the manifest and every part.
 * - Resume: when the connection drops (or the tab is closed or reloaded) the complete chunks stay; the next
 *   open rehashes them and asks for the rest with `Range: bytes={stored}-`. What arrived of the last,
 *   incomplete chunk is lost (at most CHUNK bytes). A server that ignores Range, or whose etag or size changed,
 *   starts the file over.
 * - A file whose manifest is complete is served from the cache without the network (a second visit, offline).
 */
import { etagKind, formatBytes, HubError, normalizeEtag, resolveUrl, type ModelEntry } from '@nextscale/hub/browser';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const HUB_CACHE = 'nextscale-hub-v1';
/** Chunk size (default): what a dropped connection can cost, and one Cache Storage entry. */
export const CHUNK = 16 << 20;

interface Manifest {
  etag: string;
  size: number;
  chunk: number;
  complete: boolean;
}

export interface FileProgress {
  file: string;
  loaded: number;
  total: number;
  /** Bytes per second over this download (not counting what a resume found stored). */
  rate: number;
  /** Seconds left at that rate; null before there is a rate. */
  etaS: number | null;
}

export interface HubFile {
  blob: Blob;
  bytes: number;
  sha256: string;
  /** True when the cache had it complete (no network). */
  cached: boolean;
  /** Bytes an earlier, interrupted download had stored, which this one kept. */
  resumedFrom: number;
}

const manifestKey = (url: string) => `${url}?nextscale=manifest`;
const partKey = (url: string, i: number) => `${url}?nextscale=part-${i}`;

async function readManifest(cache: Cache, url: string): Promise<Manifest | null> {
  const r = await cache.match(manifestKey(url));
  return r ? ((await r.json()) as Manifest) : null;
}
const writeManifest = (cache: Cache, url: string, m: Manifest) =>
  cache.put(manifestKey(url), new Response(JSON.stringify(m), { headers: { 'content-type': 'application/json' } }));

/** The stored parts in order, up to the first missing one. */
async function storedParts(cache: Cache, url: string, m: Manifest): Promise<Blob[]> {
  const parts: Blob[] = [];
  for (let i = 0; i * m.chunk < m.size; i++) {
    const r = await cache.match(partKey(url, i));
    if (!r) break;
    const b = await r.blob();
    // only whole chunks (or the last one, whole) count
    if (b.size !== Math.min(m.chunk, m.size - i * m.chunk)) break;
    parts.push(b);
  }
  return parts;
}

/** Deletes the manifest and every part of a file (the parts of any chunk size). */
export async function forget(cache: Cache, url: string): Promise<void> {
  for (const k of await cache.keys())
    if (k.url === manifestKey(url) || k.url.startsWith(`${url}?nextscale=part-`)) await cache.delete(k);
}

/** Bytes this file still needs in the cache (its full size unless part of it is stored). */
export async function missingBytes(endpoint: string, entry: ModelEntry, role: 'var' | 'vae'): Promise<number> {
  const url = resolveUrl(endpoint, entry.repo, entry.revision, entry.files[role]);
  const cache = await caches.open(HUB_CACHE);
  const m = await readManifest(cache, url);
  if (!m) return entry.bytes[role];
  if (m.complete) return 0;
  return m.size - (await storedParts(cache, url, m)).length * m.chunk;
}

/** The file's identity and size from a response (after the browser followed the redirects). */
interface Identity {
  etag: string;
  total: number;
  /** The first byte the body holds. */
  from: number;
}

function identify(res: Response, start: number, where: string): Identity {
  const etag = normalizeEtag(res.headers.get('x-linked-etag')) ?? normalizeEtag(res.headers.get('etag'));
  if (!etag || etagKind(etag) !== 'sha256')
    throw new HubError(
      'protocol',
      `${where}: the hub sent ${etag ? `the ETag '${etag.slice(0, 80)}', not a SHA-256` : 'no ETag the page can read'}, so the file cannot be verified and was not used`,
      'check the hub setting: it must be a Hugging Face Hub or a faithful mirror that allows this page (CORS, Access-Control-Expose-Headers: ETag)',
    );
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== start)
      throw new HubError(
        'protocol',
        `${where}: asked for bytes ${start}- but the hub answered Content-Range '${res.headers.get('content-range')}'`,
        'check the hub setting',
      );
    return { etag, total: Number(m[3]), from: start };
  }
  const size = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
  if (size === null || !Number.isSafeInteger(Number(size)))
    throw new HubError('protocol', `${where}: the hub did not say how large the file is`, 'check the hub setting');
  return { etag, total: Number(size), from: 0 };
}

/** identify, the body dropped when the answer cannot be used. */
async function identified(res: Response, start: number, where: string): Promise<Identity> {
  try {
    return identify(res, start, where);
  } catch (err) {
    await res.body?.cancel().catch(() => undefined);
    throw err;
  }
}

async function request(url: string, start: number, where: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers: start ? { Range: `bytes=${start}-` } : {}, cache: 'no-store' });
  } catch (err) {
    throw new HubError(
      'network',
      `${where}: cannot reach ${new URL(url).origin} (${(err as Error).message})`,
      "check the hub setting and the network; a hub on another origin must allow this page's origin (CORS)",
    );
  }
  if (res.ok) return res;
  await res.body?.cancel().catch(() => undefined);
  const status = res.status;
  const [code, fix]: [HubError['code'], string] =
    status === 404
      ? ['not-found', 'check the model name and the hub setting']
      : status === 401 || status === 403
        ? [
            'unauthorized',
            'the repository is private or gated: the page sends no token; download the files and open them',
          ]
        : status === 429 || status >= 500
          ? ['server', 'the hub is busy or failing: try again later']
          : ['protocol', 'check the hub setting'];
  throw new HubError(code, `${where}: HTTP ${status} from ${url}`, fix);
}

/** The file, verified, from the cache or the hub (resuming what an interrupted download stored). */
export async function hubFile(
  endpoint: string,
  entry: ModelEntry,
  role: 'var' | 'vae',
  onProgress: (p: FileProgress) => void,
  chunk = CHUNK,
): Promise<HubFile> {
  const file = entry.files[role];
  const url = resolveUrl(endpoint, entry.repo, entry.revision, file);
  const where = `${file} from ${entry.repo}@${entry.revision}`;
  const cache = await caches.open(HUB_CACHE);

  let m = await readManifest(cache, url);
  let parts = m ? await storedParts(cache, url, m) : [];
  if (m?.complete) {
    if (parts.reduce((a, b) => a + b.size, 0) === m.size)
      return { blob: new Blob(parts), bytes: m.size, sha256: m.etag, cached: true, resumedFrom: 0 };
    await forget(cache, url); // the browser evicted a part: fetch it again
    m = null;
    parts = [];
  }

  let start = m ? parts.length * m.chunk : 0;
  let res = await request(url, start, where);
  let id = await identified(res, start, where);
  if (m && (id.etag !== m.etag || id.total !== m.size || id.from !== start)) {
    // the file changed on the hub, or the server ignored Range: start over
    await res.body?.cancel().catch(() => undefined);
    await forget(cache, url);
    parts = [];
    start = 0;
    res = await request(url, 0, where);
    id = await identified(res, 0, where);
  }
  // a resume keeps the chunk size its parts were stored with
  if (m && start > 0) chunk = m.chunk;
  const manifest: Manifest = { etag: id.etag, size: id.total, chunk, complete: false };
  if (!m || start === 0) {
    await forget(cache, url);
    await writeManifest(cache, url, manifest);
  }

  // The hash's state is not kept across a reload: a resume rehashes the stored chunks (read back from the cache).
  const hash = sha256.create();
  for (const p of parts) hash.update(new Uint8Array(await p.arrayBuffer()));
  const resumedFrom = start;
  let loaded = start;
  let index = parts.length;
  let buffer = new Uint8Array(Math.max(0, Math.min(chunk, id.total - loaded)));
  let filled = 0;
  const t0 = performance.now();
  let shown = 0;
  let trailing: ReturnType<typeof setTimeout> | undefined;
  // at most every 100 ms, and the last figures always shown (a stalled connection shows where it stopped)
  const progress = (force: boolean) => {
    const now = performance.now();
    clearTimeout(trailing);
    if (!force && now - shown < 100) return void (trailing = setTimeout(() => progress(true), 100));
    shown = now;
    const rate = (loaded - resumedFrom) / Math.max(1e-3, (now - t0) / 1000);
    onProgress({ file, loaded, total: id.total, rate, etaS: rate > 0 ? (id.total - loaded) / rate : null });
  };
  const corrupt = async (why: string, code: HubError['code'] = 'protocol'): Promise<never> => {
    await forget(cache, url);
    throw new HubError(
      code,
      `${where}: ${why}; nothing of it was kept`,
      'check the hub setting (a mirror serving other bytes under this name), then open the model again',
    );
  };

  progress(true);
  const reader = res.body!.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        const kept = index * chunk;
        throw new HubError(
          'network',
          `${where}: the connection was cut at ${formatBytes(loaded)} of ${formatBytes(id.total)} (${(err as Error).message}); ${kept ? `the first ${formatBytes(kept)} are stored in this browser` : 'nothing was stored yet'}`,
          kept ? 'open the model again to resume from there' : 'open the model again to retry',
        );
      }
      if (next.done) break;
      let piece = next.value;
      if (loaded + piece.byteLength > id.total)
        await corrupt(`the hub sent more than the ${formatBytes(id.total)} it announced`);
      hash.update(piece);
      loaded += piece.byteLength;
      while (piece.byteLength) {
        const n = Math.min(piece.byteLength, buffer.byteLength - filled);
        buffer.set(piece.subarray(0, n), filled);
        filled += n;
        piece = piece.subarray(n);
        if (filled === buffer.byteLength) {
          await cache.put(partKey(url, index++), new Response(buffer));
          buffer = new Uint8Array(Math.max(0, Math.min(chunk, id.total - index * chunk)));
          filled = 0;
        }
      }
      progress(false);
    }
  } finally {
    clearTimeout(trailing);
    reader.releaseLock();
  }
  progress(true);
  if (loaded < id.total)
    await corrupt(`the body ended at ${formatBytes(loaded)} of the ${formatBytes(id.total)} the hub announced`);
  const digest = bytesToHex(hash.digest());
  if (digest !== id.etag)
    await corrupt(
      `the downloaded bytes hash to SHA-256 ${digest.slice(0, 12)}… but the hub says ${id.etag.slice(0, 12)}…`,
      'hash-mismatch',
    );
  await writeManifest(cache, url, { ...manifest, complete: true });
  const stored = await storedParts(cache, url, manifest);
  return { blob: new Blob(stored), bytes: id.total, sha256: digest, cached: false, resumedFrom };
}
