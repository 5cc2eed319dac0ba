/**
 * Fetches one file of a Hugging Face repository into the huggingface_hub cache:
 *
 * 1. HEAD `{endpoint}/{repo}/resolve/{revision}/{file}`, following same-origin redirects by hand, for
 *    the commit (X-Repo-Commit), the file's identity (X-Linked-Etag, else ETag: the LFS SHA-256) and
 *    its size (X-Linked-Size, else Content-Length). A blob already stored under that etag is used as is.
 * 2. GET (redirects followed by hand, the token sent only to the hub's own origin) into
 *    `blobs/{etag}.incomplete`, resuming with `Range` from what an earlier try left there.
 * 3. Verify the byte count and the hash, rename the blob into place, link the snapshot, record the ref.
 *
 * 429, 5xx, dropped connections and stalls are retried with exponential backoff (a try that made
 * progress does not use up the budget: the next one resumes); everything else fails at once with a
 * typed error. Offline (HF_HUB_OFFLINE=1), or when the hub cannot be reached or answers 429/5xx, the cache answers.
 */
import { promises as fsp, statfsSync } from 'node:fs';
import path from 'node:path';
import {
  blobPath,
  cacheError,
  findCached,
  incompletePath,
  linkSnapshot,
  placeBlob,
  repoFolder,
  type CachedFile,
} from './cache.js';
import { HubError } from './errors.js';
import type { HubEventHandler } from './events.js';
import { checkFileName, checkRepo, checkRevision, isCommitHash } from './names.js';
import { hubSettings, type HubSettings } from './settings.js';
import type { Hash } from 'node:crypto';
import { etagKind, hashPrefix, newHasher, normalizeEtag, type EtagKind } from './verify.js';
import { formatBytes, resolveUrl } from './urls.js';

export { formatBytes, resolveUrl } from './urls.js';

export interface DownloadOptions {
  repo: string;
  file: string;
  /** Branch, tag or commit (default 'main'). */
  revision?: string;
  /** Default: read from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE/HF_HOME). */
  settings?: HubSettings;
  onEvent?: HubEventHandler;
  signal?: AbortSignal;
  /** Retries after the first try, for 429/5xx/dropped connections (default: settings.retries, else 5). */
  retries?: number;
  /** First backoff delay, doubled each retry up to 30 s (default: settings.backoffMs, else 1000 ms); a Retry-After header wins. */
  backoffMs?: number;
}

export interface DownloadedFile {
  /** The snapshot path to open (a symlink to the verified blob). */
  path: string;
  commit: string;
  bytes: number;
  /** Bytes received by this call, over all its tries (0 when the cache had the file). */
  transferred: number;
  /** Bytes an earlier, interrupted try had left, which this call kept. */
  resumedFrom: number;
  cached: boolean;
}

const MAX_REDIRECTS = 10;

interface Remote {
  commit: string;
  etag: string;
  size: number;
  /** Where the bytes are (the last redirect's target, or the resolve URL itself). */
  url: string;
}

/** A failure worth another try, with the server's requested delay if it sent one. */
class Retryable extends Error {
  constructor(
    message: string,
    readonly final: HubError,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export async function downloadFile(o: DownloadOptions): Promise<DownloadedFile> {
  const settings = o.settings ?? hubSettings();
  const revision = o.revision ?? 'main';
  checkRepo(o.repo);
  checkRevision(revision);
  checkFileName(o.file);
  const { repo, file } = o;
  const emit = o.onEvent ?? (() => undefined);
  const where = `${repo}/${file}@${revision}`;
  emit({ status: 'initiate', repo, file });

  const fromCache = (c: CachedFile, offline?: string): DownloadedFile => {
    emit({
      status: 'done',
      repo,
      file,
      path: c.path,
      bytes: c.bytes,
      transferred: 0,
      resumedFrom: 0,
      cached: true,
      commit: c.commit,
      offline,
    });
    return { path: c.path, commit: c.commit, bytes: c.bytes, transferred: 0, resumedFrom: 0, cached: true };
  };

  if (settings.offline) {
    const c = findCached(settings.cacheDir, repo, revision, file);
    if (c) return fromCache(c, 'HF_HUB_OFFLINE is set');
    throw new HubError(
      'offline-missing',
      `${where} is not in the cache at ${repoFolder(settings.cacheDir, repo)} and HF_HUB_OFFLINE=1 forbids downloading it`,
      'unset HF_HUB_OFFLINE to download it once, or copy the cache from a machine that has it',
    );
  }

  const retrying = new Retrier(
    { ...o, retries: o.retries ?? settings.retries, backoffMs: o.backoffMs ?? settings.backoffMs },
    emit,
    repo,
    file,
  );
  let remote: Remote;
  try {
    // With the file in the cache, a hub that cannot answer is not waited for.
    remote = await retrying.run(() => head(settings, repo, revision, file, o.signal), {
      giveUpEarly: (e) => canUseCache(e) && !!findCached(settings.cacheDir, repo, revision, file),
    });
  } catch (err) {
    // The hub cannot be reached, or answers 429/5xx: what the cache holds for this revision is used, as huggingface_hub does.
    // (A 404 or 401 is an answer, and is reported.)
    const c = canUseCache(err) ? findCached(settings.cacheDir, repo, revision, file) : undefined;
    if (c)
      return fromCache(
        c,
        isUnreachable(err) ? `${settings.endpoint} cannot be reached` : `${settings.endpoint} answers with errors`,
      );
    if (err instanceof HubError && err.code === 'network') {
      throw new HubError(
        'network',
        `${err.message}; the file is not in the cache either`,
        'check the connection (or HF_ENDPOINT), then run again; set HF_HUB_OFFLINE=1 to use only the cache',
        { cause: err },
      );
    }
    throw err;
  }

  const blob = blobPath(settings.cacheDir, repo, remote.etag);
  const link = () =>
    linkSnapshot(settings.cacheDir, repo, { etag: remote.etag, commit: remote.commit, revision, file });
  const existing = await fsp.stat(blob).catch(() => undefined);
  if (existing?.isFile() && existing.size === remote.size) {
    const p = await link();
    return fromCache({ path: p, commit: remote.commit, bytes: remote.size });
  }

  const kind = etagKind(remote.etag)!;
  const incomplete = incompletePath(settings.cacheDir, repo, remote.etag);
  try {
    await fsp.mkdir(path.dirname(incomplete), { recursive: true });
  } catch (err) {
    throw cacheError(err, settings.cacheDir);
  }
  const resumedFrom = await partialSize(incomplete, remote.size);
  refuseIfNoRoom(path.dirname(incomplete), remote.size - resumedFrom, where);
  emit({ status: 'download', repo, file, total: remote.size, resumeFrom: resumedFrom });

  const progress = throttled(emit, repo, file, remote.size);
  const hash = new RunningHash(kind, remote.size, incomplete);
  let transferred = 0;
  await retrying.run(async () => {
    const before = await partialSize(incomplete, remote.size);
    try {
      await fetchInto(
        settings,
        remote,
        incomplete,
        before,
        hash,
        o.signal,
        (onDisk, chunk) => {
          transferred += chunk;
          progress(onDisk, false);
        },
        where,
      );
    } finally {
      const after = (await fsp.stat(incomplete).catch(() => undefined))?.size ?? 0;
      if (after > before) retrying.madeProgress();
    }
  });

  // Verified before use: the byte count, then the hash of every byte on disk.
  const st = await fsp.stat(incomplete);
  if (st.size !== remote.size) {
    await fsp.rm(incomplete, { force: true });
    throw new HubError(
      'hash-mismatch',
      `${where}: received ${st.size} bytes but the hub promised ${remote.size} (X-Linked-Size/Content-Length); the download was discarded`,
      'run again; if it repeats, the hub or mirror (HF_ENDPOINT) serves a broken file',
    );
  }
  const digest = await hash.digestOf(remote.size);
  if (digest !== remote.etag) {
    await fsp.rm(incomplete, { force: true });
    throw new HubError(
      'hash-mismatch',
      `${where}: the downloaded bytes hash to ${kind} ${digest.slice(0, 12)}… but the hub says ${remote.etag.slice(0, 12)}…; the download was discarded`,
      'run again; if it repeats, the hub or mirror (HF_ENDPOINT) serves a corrupt file',
    );
  }
  try {
    await placeBlob(incomplete, blob);
  } catch (err) {
    throw cacheError(err, settings.cacheDir);
  }
  progress(remote.size, true);
  const p = await link();
  emit({
    status: 'done',
    repo,
    file,
    path: p,
    bytes: remote.size,
    transferred,
    resumedFrom,
    cached: false,
    commit: remote.commit,
  });
  return { path: p, commit: remote.commit, bytes: remote.size, transferred, resumedFrom, cached: false };
}

/**
 * The hash of the partial file, fed with each chunk as it is written, so that a download is hashed as
 * it streams; a prefix left by an earlier process (or a try that started over) is read back once.
 */
class RunningHash {
  private hash: Hash | undefined;
  private bytes = -1;
  constructor(
    private readonly kind: EtagKind,
    private readonly size: number,
    private readonly file: string,
  ) {}
  /** Makes the hash cover exactly the first `start` bytes of the file. */
  async at(start: number): Promise<void> {
    if (this.bytes === start) return;
    this.hash = newHasher(this.kind, this.size);
    await hashPrefix(this.hash, this.file, start);
    this.bytes = start;
  }
  update(chunk: Uint8Array): void {
    this.hash!.update(chunk);
    this.bytes += chunk.byteLength;
  }
  async digestOf(bytes: number): Promise<string> {
    await this.at(bytes);
    return this.hash!.digest('hex');
  }
}

/** Bytes a previous try left, or 0 (a partial file longer than the file cannot be a prefix of it: discarded). */
async function partialSize(incomplete: string, size: number): Promise<number> {
  const st = await fsp.stat(incomplete).catch(() => undefined);
  if (!st) return 0;
  if (st.size > size) {
    await fsp.rm(incomplete, { force: true });
    return 0;
  }
  return st.size;
}

function refuseIfNoRoom(dir: string, needed: number, where: string): void {
  let free: number;
  try {
    const s = statfsSync(dir);
    free = Number(s.bavail) * Number(s.bsize);
  } catch {
    return; // no statfs here: the writes report a full disk themselves
  }
  if (free < needed) {
    throw new HubError(
      'disk-full',
      `${where} needs ${formatBytes(needed)} more but the disk holding ${dir} has ${formatBytes(free)} free`,
      'free some space, or point HF_HUB_CACHE (or HF_HOME) at a larger disk',
    );
  }
}

function throttled(emit: HubEventHandler, repo: string, file: string, total: number) {
  let last = 0;
  return (loaded: number, force: boolean) => {
    const t = Date.now();
    if (!force && t - last < 100) return;
    last = t;
    emit({ status: 'progress', repo, file, loaded, total, progress: total ? (100 * loaded) / total : 100 });
  };
}

const canUseCache = (e: unknown) => e instanceof HubError && (e.code === 'network' || e.code === 'server');
const isUnreachable = (e: unknown) =>
  e instanceof HubError && e.code === 'network' && (e as { unreachable?: boolean }).unreachable === true;

/** Bounded retries with exponential backoff; a try that made progress starts the count again. */
class Retrier {
  private attempt = 0;
  private readonly max: number;
  private readonly base: number;
  constructor(
    private readonly o: DownloadOptions,
    private readonly emit: HubEventHandler,
    private readonly repo: string,
    private readonly file: string,
  ) {
    this.max = (o.retries ?? 5) + 1;
    this.base = o.backoffMs ?? 1000;
  }
  madeProgress() {
    this.attempt = 0;
  }
  async run<T>(fn: () => Promise<T>, opts: { giveUpEarly?: (e: HubError) => boolean } = {}): Promise<T> {
    this.attempt = 0;
    for (;;) {
      this.attempt++;
      try {
        return await fn();
      } catch (err) {
        if (this.o.signal?.aborted)
          throw new HubError('aborted', 'the download was interrupted', 'run again to resume it', { cause: err });
        if (!(err instanceof Retryable)) throw err;
        // Nothing answering at all (refused, no DNS) is an outage more than a hiccup: two quick retries, not the full budget.
        const max = isUnreachable(err.final) ? Math.min(this.max, 3) : this.max;
        if (this.attempt >= max || opts.giveUpEarly?.(err.final)) throw err.final;
        const delayMs = err.retryAfterMs ?? Math.min(30_000, this.base * 2 ** (this.attempt - 1));
        this.emit({
          status: 'retry',
          repo: this.repo,
          file: this.file,
          attempt: this.attempt + 1,
          of: max,
          delayMs,
          reason: err.message,
        });
        await sleep(delayMs, this.o.signal);
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The error for an HTTP status that is not a success or a redirect; 429 and 5xx are retryable. */
function statusError(res: Response, url: string, where: string, tokenSent: boolean): Error {
  const s = res.status;
  if (s === 401 || s === 403) {
    return new HubError(
      'unauthorized',
      `${where}: the hub refused access (HTTP ${s})${tokenSent ? ' with the token given' : ''}`,
      tokenSent
        ? 'check that HF_TOKEN is valid and has access to the repository (accept its terms on the hub if it is gated)'
        : 'set HF_TOKEN to a Hugging Face access token that can read the repository',
    );
  }
  if (s === 404) {
    const what =
      res.headers.get('x-error-code') === 'RevisionNotFound'
        ? 'revision'
        : res.headers.get('x-error-code') === 'RepoNotFound'
          ? 'repository'
          : 'file';
    return new HubError(
      'not-found',
      `${where}: the hub has no such ${what} (HTTP 404 at ${url})`,
      'check the model name and revision, and HF_ENDPOINT if you use a mirror',
    );
  }
  if (s === 429 || s >= 500) {
    const ra = Number(res.headers.get('retry-after'));
    const final = new HubError(
      'server',
      `${where}: the hub answered HTTP ${s}${s === 429 ? ' (too many requests)' : ''} on every try`,
      'wait a while and run again; the partial download is kept and resumes',
    );
    return new Retryable(
      `HTTP ${s}`,
      final,
      Number.isFinite(ra) && ra >= 0 && res.headers.has('retry-after') ? ra * 1000 : undefined,
    );
  }
  return new HubError(
    'protocol',
    `${where}: unexpected HTTP ${s} from ${url}`,
    'check HF_ENDPOINT: it must be a Hugging Face Hub or a faithful mirror',
  );
}

const SOCKET_WORDS: Record<string, string> = {
  UND_ERR_SOCKET: 'the connection was closed',
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

/** A connection-level failure (refused, reset, cut short, stalled): retryable, and "unreachable" when nothing answered. */
function networkError(err: unknown, where: string, endpoint: string, detail?: string): Retryable {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  const reason =
    detail ??
    (code && SOCKET_WORDS[code] ? `${SOCKET_WORDS[code]} (${code})` : code) ??
    cause?.message ??
    (err as Error)?.message ??
    String(err);
  const final = new HubError(
    'network',
    `${where}: ${reason} talking to ${endpoint}`,
    'check the connection (or HF_ENDPOINT) and run again; the partial download is kept and resumes',
    { cause: err },
  );
  (final as { unreachable?: boolean }).unreachable =
    !detail &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(
      code ?? '',
    );
  return new Retryable(reason, final);
}

const sameOrigin = (a: string, b: string) => new URL(a).origin === new URL(b).origin;

/** One request, redirect handled by the caller; the token goes only to the hub's own origin. */
async function request(
  settings: HubSettings,
  method: 'HEAD' | 'GET',
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  where: string,
): Promise<Response> {
  const h: Record<string, string> = { 'Accept-Encoding': 'identity', 'User-Agent': 'nextscale-hub/0.1', ...headers };
  if (settings.token && sameOrigin(url, settings.endpoint)) h['Authorization'] = `Bearer ${settings.token}`;
  try {
    return await fetch(url, { method, headers: h, redirect: 'manual', signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // A system or socket error is the network's; anything else (a port fetch refuses, a malformed URL) will not get better by retrying.
    if (cause?.code) throw networkError(err, where, settings.endpoint);
    throw new HubError(
      'network',
      `${where}: cannot request ${url}: ${cause?.message ?? (err as Error).message}`,
      'check HF_ENDPOINT',
      { cause: err },
    );
  }
}

/** Follows redirects by hand (so that a loop, or a redirect without Location, is named), calling `visit` on each hop. */
async function follow(
  settings: HubSettings,
  method: 'HEAD' | 'GET',
  start: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  where: string,
  visit: (res: Response) => 'stop' | 'continue',
): Promise<{ res: Response; url: string }> {
  const seen = new Set<string>();
  let url = start;
  for (let hop = 0; ; hop++) {
    if (seen.has(url) || hop > MAX_REDIRECTS) {
      throw new HubError(
        'protocol',
        `${where}: the hub redirects in a loop (${hop} redirects, back to ${url})`,
        'check HF_ENDPOINT: a mirror or proxy is misconfigured',
      );
    }
    seen.add(url);
    const res = await request(settings, method, url, headers, signal, where);
    if (res.status < 300 || res.status >= 400) return { res, url };
    const location = res.headers.get('location');
    await res.body?.cancel().catch(() => undefined);
    if (!location)
      throw new HubError(
        'protocol',
        `${where}: HTTP ${res.status} redirect without a Location from ${url}`,
        'check HF_ENDPOINT',
      );
    if (visit(res) === 'stop') return { res, url: new URL(location, url).href };
    url = new URL(location, url).href;
  }
}

async function head(
  settings: HubSettings,
  repo: string,
  revision: string,
  file: string,
  signal: AbortSignal | undefined,
): Promise<Remote> {
  const where = `${repo}/${file}@${revision}`;
  const meta: { commit?: string; etag?: string; size?: number } = {};
  const read = (res: Response) => {
    meta.commit ??= res.headers.get('x-repo-commit') ?? undefined;
    meta.etag ??= normalizeEtag(res.headers.get('x-linked-etag'));
    const linked = res.headers.get('x-linked-size');
    if (meta.size === undefined && linked !== null) meta.size = Number(linked);
  };
  const resolve = resolveUrl(settings.endpoint, repo, revision, file);
  const { res, url } = await follow(settings, 'HEAD', resolve, {}, signal, where, (r) => {
    read(r);
    // The hub's redirect to its content server carries everything; the content server is not asked (as huggingface_hub does).
    const next = new URL(r.headers.get('location')!, resolve).href;
    return meta.commit && meta.etag && meta.size !== undefined && !sameOrigin(next, settings.endpoint)
      ? 'stop'
      : 'continue';
  });
  if (res.status >= 400) throw statusError(res, url, where, !!settings.token);
  if (res.status < 300) {
    read(res);
    meta.etag ??= normalizeEtag(res.headers.get('etag'));
    const cl = res.headers.get('content-length');
    if (meta.size === undefined && cl !== null) meta.size = Number(cl);
  }
  if (!meta.commit || !meta.etag || meta.size === undefined || !Number.isSafeInteger(meta.size) || meta.size < 0) {
    throw new HubError(
      'protocol',
      `${where}: the hub's answer lacks X-Repo-Commit, ETag or the size, so the file cannot be verified`,
      'check HF_ENDPOINT: it must be a Hugging Face Hub or a faithful mirror',
    );
  }
  // Both become path names in the cache: only hashes are accepted (an ETag of '../../x' must not place a file anywhere).
  if (!isCommitHash(meta.commit)) {
    throw new HubError(
      'protocol',
      `${where}: the hub sent the commit '${meta.commit.slice(0, 80)}', which is not a 40-hex commit hash; nothing was written`,
      'check HF_ENDPOINT: it must be a Hugging Face Hub or a faithful mirror',
    );
  }
  if (!etagKind(meta.etag)) {
    throw new HubError(
      'protocol',
      `${where}: the hub sent the ETag '${meta.etag.slice(0, 80)}', which is neither a SHA-256 nor a git SHA-1, so the file cannot be verified; nothing was written`,
      'check HF_ENDPOINT: it must be a Hugging Face Hub or a faithful mirror',
    );
  }
  return { commit: meta.commit, etag: meta.etag, size: meta.size, url };
}

/**
 * GETs the bytes from `start` on and appends them to `incomplete`; returns the bytes on disk. A server
 * that ignores Range starts the file over; one that sends more than the promised size is cut off.
 */
async function fetchInto(
  settings: HubSettings,
  remote: Remote,
  incomplete: string,
  start: number,
  hash: RunningHash,
  userSignal: AbortSignal | undefined,
  onBytes: (onDisk: number, chunk: number) => void,
  where: string,
): Promise<number> {
  if (start === remote.size) {
    if (start === 0)
      await fsp.writeFile(incomplete, '').catch((err) => Promise.reject(cacheError(err, settings.cacheDir)));
    return start;
  }
  const stall = new AbortController();
  const signal = userSignal ? AbortSignal.any([userSignal, stall.signal]) : stall.signal;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), settings.stallTimeoutMs);
  };
  arm();
  const stalled = () =>
    networkError(undefined, where, settings.endpoint, `no data for ${settings.stallTimeoutMs / 1000} s`);
  let fh: fsp.FileHandle | undefined;
  try {
    const headers: Record<string, string> = start > 0 ? { Range: `bytes=${start}-` } : {};
    let got: { res: Response; url: string };
    try {
      got = await follow(settings, 'GET', remote.url, headers, signal, where, () => 'continue');
    } catch (err) {
      if (stall.signal.aborted && !userSignal?.aborted) throw stalled();
      throw err;
    }
    const { res, url } = got;
    if (res.status >= 400) {
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 416) {
        await fsp.rm(incomplete, { force: true });
        throw new Retryable(
          'HTTP 416 for the resumed range',
          new HubError('protocol', `${where}: the server refused to resume (HTTP 416)`, 'run again'),
        );
      }
      throw statusError(res, url, where, !!settings.token && sameOrigin(url, settings.endpoint));
    }
    let offset = start;
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== start) {
        await res.body?.cancel().catch(() => undefined);
        await fsp.rm(incomplete, { force: true });
        throw new Retryable(
          'bad Content-Range',
          new HubError(
            'protocol',
            `${where}: the server answered the resume with Content-Range '${res.headers.get('content-range')}'`,
            'run again; the download starts over',
          ),
        );
      }
    } else {
      offset = 0; // 200: the whole file, whatever was asked
    }
    const expected = remote.size - offset;
    const cl = res.headers.get('content-length');
    if (cl !== null && Number(cl) !== expected) {
      await res.body?.cancel().catch(() => undefined);
      throw new HubError(
        'hash-mismatch',
        `${where}: the content server sends ${cl} bytes where the hub promised ${expected} (of ${remote.size}); nothing was kept`,
        'run again; if it repeats, the hub or mirror (HF_ENDPOINT) serves a different file than it describes',
      );
    }
    await hash.at(offset);
    fh = await fsp.open(incomplete, offset === 0 ? 'w' : 'a').catch((err) => {
      throw cacheError(err, settings.cacheDir);
    });
    let onDisk = offset;
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        if (onDisk + value.byteLength > remote.size) {
          await reader.cancel().catch(() => undefined);
          await fh.close();
          fh = undefined;
          await fsp.rm(incomplete, { force: true });
          throw new HubError(
            'hash-mismatch',
            `${where}: the content server sent more than the ${remote.size} bytes the hub promised; the download was discarded`,
            'run again; if it repeats, the hub or mirror (HF_ENDPOINT) serves a different file than it describes',
          );
        }
        try {
          await fh.write(value);
        } catch (err) {
          throw cacheError(err, settings.cacheDir);
        }
        hash.update(value);
        onDisk += value.byteLength;
        onBytes(onDisk, value.byteLength);
      }
    } catch (err) {
      if (err instanceof HubError || err instanceof Retryable) throw err;
      if (userSignal?.aborted) throw err;
      if (stall.signal.aborted) throw stalled();
      throw networkError(err, where, settings.endpoint, `the connection broke after ${onDisk} of ${remote.size} bytes`);
    }
    if (onDisk < remote.size)
      throw networkError(
        undefined,
        where,
        settings.endpoint,
        `the connection closed after ${onDisk} of ${remote.size} bytes`,
      );
    return onDisk;
  } finally {
    clearTimeout(timer);
    await fh?.close().catch(() => undefined);
  }
}
