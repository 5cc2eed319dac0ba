import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadFile, HubError, hubSettings, type HubEvent, type HubSettings } from './index.js';
import { startLoopbackHub, type HostileMode, type LoopbackHub } from './testing/index.js';

const REPO = 'FoundationVision/var';
// Incompressible and bigger than one 64 KiB chunk, so that halves and resumes are real.
const DATA = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);
const SMALL = new TextEncoder().encode('{"hello": "a plain git file"}\n');
const SHA = createHash('sha256').update(DATA).digest('hex');

let hub: LoopbackHub;
let dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'nextscale-hub-'));
  dirs.push(d);
  return d;
};
const settingsFor = (cacheDir: string, over: Partial<HubSettings> = {}): HubSettings => ({
  endpoint: hub.url,
  offline: false,
  cacheDir,
  stallTimeoutMs: 2000,
  ...over,
});
const repoDir = (cacheDir: string) => path.join(cacheDir, 'models--FoundationVision--var');

/** Every file under the cache except .incomplete partials, which are what a resume needs. */
function completeFiles(cacheDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.incomplete')) out.push(path.relative(cacheDir, p));
    }
  };
  walk(cacheDir);
  return out;
}

async function failure(p: Promise<unknown>): Promise<HubError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HubError);
  return err as HubError;
}

beforeAll(async () => {
  hub = await startLoopbackHub({
    files: [
      { repo: REPO, file: 'var_d16.pth', data: DATA },
      { repo: REPO, file: 'config/notes.json', data: SMALL, lfs: false },
    ],
  });
});
afterAll(() => hub.close());
afterEach(() => {
  hub.mode = {};
  hub.requests.length = 0;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('downloadFile', () => {
  it('downloads into the huggingface_hub layout, verified, with events; the second call only asks the hub', async () => {
    const cache = tmp();
    const events: HubEvent[] = [];
    const got = await downloadFile({
      repo: REPO,
      file: 'var_d16.pth',
      settings: settingsFor(cache),
      onEvent: (e) => events.push(e),
    });
    expect(got).toMatchObject({
      cached: false,
      bytes: DATA.length,
      transferred: DATA.length,
      resumedFrom: 0,
      commit: hub.commit,
    });
    expect(got.path).toBe(path.join(repoDir(cache), 'snapshots', hub.commit, 'var_d16.pth'));
    expect(lstatSync(got.path).isSymbolicLink()).toBe(true);
    expect(readlinkSync(got.path)).toBe(path.join('..', '..', 'blobs', SHA));
    expect(readFileSync(path.join(repoDir(cache), 'refs', 'main'), 'utf8')).toBe(hub.commit);
    expect(Buffer.compare(readFileSync(got.path), Buffer.from(DATA))).toBe(0);
    expect(events[0]).toEqual({ status: 'initiate', repo: REPO, file: 'var_d16.pth' });
    expect(events.find((e) => e.status === 'download')).toMatchObject({ total: DATA.length, resumeFrom: 0 });
    expect(events.filter((e) => e.status === 'progress').at(-1)).toMatchObject({ loaded: DATA.length, progress: 100 });
    expect(events.at(-1)).toMatchObject({ status: 'done', cached: false });

    hub.requests.length = 0;
    const again = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    expect(again).toMatchObject({ cached: true, transferred: 0, path: got.path });
    expect(hub.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD']); // resolve, then the same-origin content URL
  });

  it('verifies a plain git file against its git SHA-1 ETag', async () => {
    const cache = tmp();
    const got = await downloadFile({ repo: REPO, file: 'config/notes.json', settings: settingsFor(cache) });
    expect(readFileSync(got.path, 'utf8')).toBe(new TextDecoder().decode(SMALL));
    expect(got.path.endsWith(path.join(hub.commit, 'config', 'notes.json'))).toBe(true);
  });

  it('offline: answers from the cache without a request, and names what is missing', async () => {
    const cache = tmp();
    await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    hub.requests.length = 0;
    const off = settingsFor(cache, { offline: true });
    const events: HubEvent[] = [];
    const got = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: off, onEvent: (e) => events.push(e) });
    expect(got.cached).toBe(true);
    expect(events.at(-1)).toMatchObject({ status: 'done', offline: 'HF_HUB_OFFLINE is set' });
    const err = await failure(downloadFile({ repo: REPO, file: 'var_d20.pth', settings: off }));
    expect(err.code).toBe('offline-missing');
    expect(err.message).toMatch(/FoundationVision\/var\/var_d20\.pth@main is not in the cache/);
    expect(hub.requests).toEqual([]);
  });

  it('an unreachable hub falls back to the cache, and without it fails as a network error', async () => {
    const cache = tmp();
    await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    const closed = await startLoopbackHub({ files: [] });
    await closed.close(); // its port now refuses connections
    const gone = settingsFor(cache, { endpoint: closed.url });
    const got = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: gone, retries: 0 });
    expect(got.cached).toBe(true);
    const err = await failure(
      downloadFile({ repo: REPO, file: 'var_d20.pth', settings: gone, retries: 1, backoffMs: 1 }),
    );
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/connection refused \(ECONNREFUSED\).*the file is not in the cache either/);
  });

  it('a hub answering 5xx does not hold up a cached file; a 404 is still reported', async () => {
    const cache = tmp();
    await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    hub.mode = { hostile: 'status-500' };
    const events: HubEvent[] = [];
    const got = await downloadFile({
      repo: REPO,
      file: 'var_d16.pth',
      settings: settingsFor(cache),
      onEvent: (e) => events.push(e),
    });
    expect(got.cached).toBe(true);
    expect(events.at(-1)).toMatchObject({ status: 'done', offline: `${hub.url} answers with errors` });
    expect(events.some((e) => e.status === 'retry')).toBe(false);
    hub.mode = { hostile: 'status-404' };
    expect((await failure(downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) }))).code).toBe(
      'not-found',
    );
  });

  it("uses a file Python's huggingface_hub placed, without downloading", async () => {
    const cache = tmp();
    const repo = repoDir(cache);
    mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    mkdirSync(path.join(repo, 'snapshots', hub.commit), { recursive: true });
    mkdirSync(path.join(repo, 'refs'), { recursive: true });
    writeFileSync(path.join(repo, 'blobs', SHA), DATA);
    symlinkSync(path.join('..', '..', 'blobs', SHA), path.join(repo, 'snapshots', hub.commit, 'var_d16.pth'));
    writeFileSync(path.join(repo, 'refs', 'main'), hub.commit);
    const got = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    expect(got).toMatchObject({ cached: true, transferred: 0 });
    expect(hub.requests.some((r) => r.method === 'GET')).toBe(false);
  });

  it('resumes a partial download with Range and reports the bytes it transferred', async () => {
    const cache = tmp();
    const half = 123_456;
    mkdirSync(path.join(repoDir(cache), 'blobs'), { recursive: true });
    writeFileSync(path.join(repoDir(cache), 'blobs', `${SHA}.incomplete`), DATA.subarray(0, half));
    const got = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    expect(got).toMatchObject({ resumedFrom: half, transferred: DATA.length - half, cached: false });
    expect(hub.requests.find((r) => r.method === 'GET')?.range).toBe(`bytes=${half}-`);
    expect(createHash('sha256').update(readFileSync(got.path)).digest('hex')).toBe(SHA);
  });

  it('a corrupt partial file left by an earlier try is caught by the hash and discarded', async () => {
    const cache = tmp();
    mkdirSync(path.join(repoDir(cache), 'blobs'), { recursive: true });
    const partial = path.join(repoDir(cache), 'blobs', `${SHA}.incomplete`);
    writeFileSync(partial, new Uint8Array(100_000).fill(7));
    const err = await failure(downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) }));
    expect(err.code).toBe('hash-mismatch');
    expect(existsSync(partial)).toBe(false);
    expect(completeFiles(cache)).toEqual([]);
    // …and the next run starts over and succeeds.
    expect((await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) })).resumedFrom).toBe(0);
  });

  it('a cut connection is retried and resumed where it broke', async () => {
    const cache = tmp();
    hub.mode = { hostile: 'truncate' };
    const events: HubEvent[] = [];
    // Each try gets half of what is left: progress on every try, so the retry budget is never used up.
    const got = await downloadFile({
      repo: REPO,
      file: 'var_d16.pth',
      settings: settingsFor(cache),
      backoffMs: 1,
      retries: 2,
      onEvent: (e) => events.push(e),
    }).catch((e) => e);
    // Halving never reaches the last byte: it ends after the budget of tries without progress… or completes; either way nothing corrupt.
    if (got instanceof HubError) expect(got.code).toBe('network');
    expect(events.some((e) => e.status === 'retry')).toBe(true);
    expect(hub.requests.filter((r) => r.range).length).toBeGreaterThan(1);
    hub.mode = {};
    const done = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) });
    expect(done.resumedFrom).toBeGreaterThan(DATA.length / 2);
    expect(createHash('sha256').update(readFileSync(done.path)).digest('hex')).toBe(SHA);
  });

  it('a transient 503 is retried with backoff, then succeeds', async () => {
    const cache = tmp();
    hub.mode = { hostile: 'status-500', failures: 2 };
    const events: HubEvent[] = [];
    const got = await downloadFile({
      repo: REPO,
      file: 'var_d16.pth',
      settings: settingsFor(cache),
      onEvent: (e) => events.push(e),
    });
    expect(got.cached).toBe(false);
    expect(events.filter((e) => e.status === 'retry')).toHaveLength(2);
  });

  const hostile: [HostileMode, string, RegExp][] = [
    ['status-404', 'not-found', /no such file \(HTTP 404/],
    ['status-401', 'unauthorized', /refused access \(HTTP 401\)/],
    ['status-429', 'server', /HTTP 429 \(too many requests\) on every try/],
    ['status-500', 'server', /HTTP 500 on every try/],
    ['wrong-hash', 'hash-mismatch', /hash to sha256 .* but the hub says/],
    ['size-lie', 'hash-mismatch', /sends \d+ bytes where the hub promised/],
    ['length-lie', 'hash-mismatch', /sent more than the \d+ bytes the hub promised/],
    ['redirect-loop', 'protocol', /redirects in a loop/],
    ['stall', 'network', /no data for 0.3 s/],
    ['bad-etag', 'protocol', /ETag '..\/..\/..\/..\/evil'/],
    ['bad-commit', 'protocol', /commit '..\/..\/..\/outside'/],
    [
      'truncate',
      'network',
      /connection (closed|broke) after \d+ of 300000 bytes|the connection was closed \(UND_ERR_SOCKET\)/,
    ],
  ];
  for (const [mode, code, message] of hostile) {
    it(`hostile hub (${mode}): ${code}, and nothing complete-looking in the cache`, async () => {
      const cache = tmp();
      hub.mode = { hostile: mode };
      const err = await failure(
        downloadFile({
          repo: REPO,
          file: 'var_d16.pth',
          settings: settingsFor(cache, { stallTimeoutMs: 300 }),
          retries: 1,
          backoffMs: 1,
        }),
      );
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      expect(err.message).not.toMatch(/\n/);
      expect(completeFiles(cache)).toEqual([]);
      expect(existsSync(path.join(cache, '..', 'evil'))).toBe(false);
    });
  }

  it('a full disk is one disk-full error (the partial download points at /dev/full)', async () => {
    const cache = tmp();
    mkdirSync(path.join(repoDir(cache), 'blobs'), { recursive: true });
    symlinkSync('/dev/full', path.join(repoDir(cache), 'blobs', `${SHA}.incomplete`));
    const err = await failure(downloadFile({ repo: REPO, file: 'var_d16.pth', settings: settingsFor(cache) }));
    expect(err.code).toBe('disk-full');
    expect(err.message).toMatch(/is full/);
    expect(completeFiles(cache)).toEqual([]);
  });

  it('refuses file names that could escape the cache, before any request', async () => {
    const cache = tmp();
    for (const file of ['../var_d16.pth', '/etc/passwd', 'a/../../b', 'a\\b']) {
      const err = await failure(downloadFile({ repo: REPO, file, settings: settingsFor(cache) }));
      expect(err.code).toBe('bad-name');
    }
    expect((await failure(downloadFile({ repo: '../x', file: 'a', settings: settingsFor(cache) }))).code).toBe(
      'bad-name',
    );
    expect(hub.requests).toEqual([]);
  });

  it('sends HF_TOKEN as a bearer token to the hub', async () => {
    const secret = await startLoopbackHub({
      token: 'hf_test',
      files: [{ repo: REPO, file: 'var_d16.pth', data: DATA }],
    });
    try {
      const cache = tmp();
      const s = { ...settingsFor(cache), endpoint: secret.url };
      expect((await failure(downloadFile({ repo: REPO, file: 'var_d16.pth', settings: s }))).message).toMatch(
        /set HF_TOKEN|HTTP 401/,
      );
      const got = await downloadFile({ repo: REPO, file: 'var_d16.pth', settings: { ...s, token: 'hf_test' } });
      expect(got.bytes).toBe(DATA.length);
      expect(secret.requests.every((r) => r.authorization === 'Bearer hf_test' || r.status === 401)).toBe(true);
    } finally {
      await secret.close();
    }
  });
});

describe('hubSettings', () => {
  it('reads the ecosystem variables with huggingface_hub precedence', () => {
    expect(hubSettings({ HF_HOME: '/x/hf', HOME: '/h' })).toMatchObject({
      cacheDir: '/x/hf/hub',
      endpoint: 'https://huggingface.co',
      offline: false,
    });
    expect(
      hubSettings({
        HF_HOME: '/x/hf',
        HF_HUB_CACHE: '/y',
        HF_ENDPOINT: 'http://m/',
        HF_HUB_OFFLINE: '1',
        HF_TOKEN: 't',
        HF_HUB_DOWNLOAD_TIMEOUT: '3',
      }),
    ).toEqual({
      cacheDir: '/y',
      endpoint: 'http://m',
      offline: true,
      token: 't',
      stallTimeoutMs: 3000,
    });
    expect(hubSettings({ XDG_CACHE_HOME: '/c' }).cacheDir).toBe('/c/huggingface/hub');
  });
});
