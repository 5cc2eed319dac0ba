/**
 * A loopback Hugging Face Hub for tests with no internet: it serves files under repository names with
 * the hub's protocol (resolve URLs, the HEAD metadata headers, the 302 to a content URL, Range), and
 * misbehaves on request in each way a real network or a broken mirror can.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface LoopbackFile {
  repo: string;
  file: string;
  data: Uint8Array;
  /** Default 'main'. */
  revision?: string;
  /** Stored in LFS (default true): the resolve URL redirects to the content URL and the ETag is the SHA-256. */
  lfs?: boolean;
}

export type HostileMode =
  /** Every content response sends half the bytes it announces, then cuts the connection. */
  | 'truncate'
  /** The hub (and its content server's ETag) announces a SHA-256 the bytes do not have. */
  | 'wrong-hash'
  /** The hub announces more bytes than the file has (the content server's Content-Length is honest). */
  | 'size-lie'
  /** The hub announces fewer bytes than the content server then sends (chunked, no Content-Length). */
  | 'length-lie'
  | 'status-401'
  | 'status-404'
  | 'status-429'
  | 'status-500'
  /** The resolve URL redirects to a URL that redirects back. */
  | 'redirect-loop'
  /** Content responses send half the bytes and then nothing, keeping the connection open. */
  | 'stall'
  /** The ETag is a path (`../../…`), the way a hostile mirror would try to write outside the cache. */
  | 'bad-etag'
  /** The commit is a path. */
  | 'bad-commit';

export interface LoopbackMode {
  hostile?: HostileMode;
  /** With a status mode: fail only the first n requests, then answer normally (a transient outage). */
  failures?: number;
  /** Send content bodies only up to this byte offset of the file, then hold the connection (to kill a client mid-download). */
  pauseAt?: number;
}

export interface LoopbackRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status: number;
}

export interface LoopbackHub {
  /** The endpoint to put in HF_ENDPOINT. */
  url: string;
  /** The commit every file is served at. */
  commit: string;
  mode: LoopbackMode;
  requests: LoopbackRequest[];
  /** Body bytes sent by content responses. */
  bytesSent: number;
  sha256(repo: string, file: string): string;
  close(): Promise<void>;
}

export interface LoopbackOptions {
  files: LoopbackFile[];
  /** When set, every request must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  port?: number;
}

const CORS_EXPOSED =
  'ETag, X-Linked-Etag, X-Linked-Size, X-Repo-Commit, X-Error-Code, Content-Range, Content-Length, Accept-Ranges';
const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const wrongHash = (d: Uint8Array) => sha256(Buffer.concat([d, Buffer.from('x')]));
const gitSha1 = (d: Uint8Array) => createHash('sha1').update(`blob ${d.byteLength}\0`).update(d).digest('hex');

export async function startLoopbackHub(o: LoopbackOptions): Promise<LoopbackHub> {
  const commit = createHash('sha1')
    .update(o.files.map((f) => `${f.repo}/${f.file}:${sha256(f.data)}`).join('\n'))
    .digest('hex');
  const byKey = new Map(o.files.map((f) => [`${f.repo}/${f.revision ?? 'main'}/${f.file}`, f]));
  const byHash = new Map(o.files.map((f) => [sha256(f.data), f]));
  const sockets = new Set<Socket>();
  const hub: LoopbackHub = {
    url: '',
    commit,
    mode: {},
    requests: [],
    bytesSent: 0,
    sha256: (repo, file) => sha256(byKey.get(`${repo}/main/${file}`)!.data),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  let statusFailures = 0;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const log: LoopbackRequest = {
      method: req.method ?? '',
      path: url.pathname,
      range: req.headers.range,
      authorization: req.headers.authorization,
      status: 0,
    };
    hub.requests.push(log);
    // As the real hub: any page may read the files and the headers that identify them (a web app downloads a model
    // cross-origin); a preflight (a Range or Authorization header) is answered for GET and HEAD.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED);
    if (req.method === 'OPTIONS') {
      log.status = 204;
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD',
        'Access-Control-Allow-Headers': 'Range, Authorization',
        'Access-Control-Max-Age': 600,
      });
      return res.end();
    }
    const send = (status: number, headers: Record<string, string | number> = {}, body?: string) => {
      log.status = status;
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (o.token && req.headers.authorization !== `Bearer ${o.token}`)
      return send(401, { 'X-Error-Code': 'GatedRepo' }, 'unauthorized');
    const mode = hub.mode;
    const status = /^status-(\d+)$/.exec(mode.hostile ?? '');
    if (status && (mode.failures === undefined || statusFailures++ < mode.failures)) {
      return send(
        Number(status[1]),
        { 'Retry-After': 0, ...(status[1] === '404' ? { 'X-Error-Code': 'EntryNotFound' } : {}) },
        'hostile',
      );
    }
    if (url.pathname.startsWith('/loop/'))
      return send(302, { Location: url.pathname === '/loop/a' ? '/loop/b' : '/loop/a' });

    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn) {
      const f = byHash.get(cdn[1]);
      if (!f) return send(404);
      return content(f, req, res, log);
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const f = m
      ? byKey.get(`${m[1]}/${decodeURIComponent(m[2])}/${m[3].split('/').map(decodeURIComponent).join('/')}`)
      : undefined;
    if (!f) return send(404, { 'X-Error-Code': 'EntryNotFound' }, 'Entry not found');
    const hash = sha256(f.data);
    const headers: Record<string, string | number> = {
      'X-Repo-Commit': mode.hostile === 'bad-commit' ? '../../../outside' : commit,
      ETag: `"${gitSha1(f.data)}"`,
    };
    if (f.lfs === false) return content(f, req, res, log, headers);
    let size = f.data.byteLength;
    if (mode.hostile === 'size-lie') size += 1000;
    if (mode.hostile === 'length-lie') size -= 1000;
    const etag =
      mode.hostile === 'wrong-hash' ? wrongHash(f.data) : mode.hostile === 'bad-etag' ? '../../../../evil' : hash;
    Object.assign(headers, {
      'X-Linked-Etag': `"${etag}"`,
      'X-Linked-Size': size,
      Location: mode.hostile === 'redirect-loop' ? '/loop/a' : `/cdn/${hash}`,
    });
    return send(302, headers);
  });

  function content(
    f: LoopbackFile,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    log: LoopbackRequest,
    extra: Record<string, string | number> = {},
  ) {
    const data = f.data;
    const r = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = r ? Number(r[1]) : 0;
    if (start > data.byteLength) {
      log.status = 416;
      res.writeHead(416, { 'Content-Range': `bytes */${data.byteLength}` });
      return res.end();
    }
    const length = data.byteLength - start;
    // The content server's ETag is the SHA-256 too (all a browser sees: it follows the hub's redirect itself); with
    // 'wrong-hash' it announces the same wrong one as the hub.
    const etag = hub.mode.hostile === 'wrong-hash' ? wrongHash(data) : sha256(data);
    const headers: Record<string, string | number> = { ...extra, 'Accept-Ranges': 'bytes', ETag: `"${etag}"` };
    if (hub.mode.hostile !== 'length-lie') headers['Content-Length'] = length;
    if (r) headers['Content-Range'] = `bytes ${start}-${data.byteLength - 1}/${data.byteLength}`;
    log.status = r ? 206 : 200;
    res.writeHead(log.status, headers);
    if (req.method === 'HEAD') return res.end();
    const hostile = hub.mode.hostile;
    let end = data.byteLength;
    if (hostile === 'truncate' || hostile === 'stall') end = start + Math.floor(length / 2);
    if (hub.mode.pauseAt !== undefined) end = Math.max(start, Math.min(end, hub.mode.pauseAt));
    const chunk = 64 * 1024;
    let at = start;
    const pump = () => {
      while (at < end) {
        const next = Math.min(end, at + chunk);
        const ok = res.write(data.subarray(at, next));
        hub.bytesSent += next - at;
        at = next;
        if (!ok) return void res.once('drain', pump);
      }
      if (end === data.byteLength) return void res.end();
      if (hostile === 'truncate') return void res.socket?.destroy();
      // 'stall' and pauseAt: hold the connection open, sending nothing more.
    };
    pump();
  }

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hub;
}
