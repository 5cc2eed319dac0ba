/**
 * Models by name, end to end with no internet: the CLI (a subprocess) against the loopback hub, which
 * serves the tiny fixture under the released names of FoundationVision/var. The catalogue's
 * expectations for var-d16 (depth, schedule) are pointed at the tiny model through
 * NEXTSCALE_MODELS_FILE; without it the real catalogue refuses the tiny file (last test).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countStateDict,
  randomVARStateDictEntries,
  releasedVARSpec,
  RELEASED_512_PATCH_NUMS,
} from '@nextscale/core/models';
import { RELEASED_MODELS } from '@nextscale/hub';
import { startLoopbackHub, type HostileMode, type LoopbackHub } from '@nextscale/hub/testing';
import { BIN, CLI_DIR, fixture } from '../test-support.js';

const REPO = 'FoundationVision/var';
const VAR = readFileSync(fixture('var.pth'));
const VAE = readFileSync(fixture('vae.pth'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const FILES = [
  { repo: REPO, file: 'var_d16.pth', data: VAR },
  { repo: REPO, file: 'vae_ch160v4096z32.pth', data: VAE },
];

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

let tmp: string;
let modelsFile: string;
const dirs: string[] = [];
const newHome = () => {
  const d = mkdtempSync(path.join(tmp, 'hf-'));
  dirs.push(d);
  return d;
};
const repoDir = (home: string) => path.join(home, 'hub', 'models--FoundationVision--var');

/** The CLI as a child process (asynchronously: the loopback hub answers from this process). */
function cli(
  args: string[],
  env: Record<string, string | undefined>,
  o: { onSpawn?: (kill: (signal?: NodeJS.Signals) => void) => void } = {},
): Promise<Result> {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(e))
    if (k.startsWith('NEXTSCALE_') || k.startsWith('HF_') || k.startsWith('HUGGING')) delete e[k];
  Object.assign(
    e,
    { NEXTSCALE_MODELS_FILE: modelsFile, NEXTSCALE_HUB_BACKOFF_MS: '5', HF_HUB_DOWNLOAD_TIMEOUT: '1' },
    env,
  );
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: CLI_DIR, env: e });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    o.onSpawn?.((signal = 'SIGKILL') => child.kill(signal));
  });
}

const json = (r: Result) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.status}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
};

/** Files in the cache that look complete: everything except .incomplete partials. */
function completeFiles(home: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('.incomplete')) out.push(path.relative(home, p));
    }
  };
  walk(home);
  return out;
}

/** The error lines: exactly one `nextscale:` line that is not a warning, and no stack. */
function errorLines(r: Result): string[] {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr.split('\n').filter((l) => l.startsWith('nextscale:') && !l.startsWith('nextscale: warning:'));
}

let hub: LoopbackHub;
beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'nextscale-models-cli-'));
  modelsFile = path.join(tmp, 'models.json');
  // var-d16's files and repository, with the tiny model's shape as what the name promises.
  writeFileSync(
    modelsFile,
    JSON.stringify([
      {
        name: 'var-d16',
        repo: REPO,
        files: { var: 'var_d16.pth', vae: 'vae_ch160v4096z32.pth' },
        depth: 2,
        patchNums: [1, 2, 3, 4],
        resolution: 16,
        bytes: { var: VAR.length, vae: VAE.length },
      },
    ]),
  );
  hub = await startLoopbackHub({ files: FILES });
});
afterAll(async () => {
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('nextscale generate --model', () => {
  it('downloads into an empty HF_HOME, verifies and generates the pixels of --var/--vae; then again with the hub gone, and offline', async () => {
    const home = newHome();
    const out = path.join(home, 'a.png');
    const r = await cli(['generate', '--model', 'var-d16', '--class', '1', '--out', out, '--json'], {
      HF_HOME: home,
      HF_ENDPOINT: hub.url,
    });
    expect(r.status, r.stderr).toBe(0);
    const doc = json(r);
    expect(doc.model).toMatchObject({
      name: 'var-d16',
      repo: REPO,
      var: { file: 'var_d16.pth', bytes: VAR.length, transferred: VAR.length, cached: false, commit: hub.commit },
      vae: { transferred: VAE.length },
    });
    expect(doc.model.var.path).toBe(path.join(repoDir(home), 'snapshots', hub.commit, 'var_d16.pth'));
    expect(sha(readFileSync(doc.model.var.path))).toBe(sha(VAR));

    // The same model from paths: the same tokens and the same PNG.
    const byPath = path.join(home, 'b.png');
    const p = await cli(
      ['generate', '--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--class', '1', '--out', byPath, '--json'],
      {},
    );
    expect(p.status, p.stderr).toBe(0);
    expect(json(p).tokens).toEqual(doc.tokens);
    expect(readFileSync(out).equals(readFileSync(byPath))).toBe(true);

    // The hub stops answering: the cache is used, and the run says so.
    const gone = await startLoopbackHub({ files: [] });
    await gone.close();
    const c = path.join(home, 'c.png');
    const r2 = await cli(['generate', '--model', 'var-d16', '--class', '1', '--out', c, '--json'], {
      HF_HOME: home,
      HF_ENDPOINT: gone.url,
    });
    expect(r2.status, r2.stderr).toBe(0);
    expect(json(r2).model.var).toMatchObject({ cached: true, transferred: 0 });
    expect(r2.stderr).toMatch(
      /warning: using the cached var_d16\.pth without checking the hub \(http:\/\/127\.0\.0\.1:\d+ cannot be reached\)/,
    );
    expect(readFileSync(c).equals(readFileSync(out))).toBe(true);

    // HF_HUB_OFFLINE=1 with an endpoint that would answer: no request at all.
    hub.requests.length = 0;
    const r3 = await cli(['generate', '--model', 'var-d16', '--class', '1', '--out', path.join(home, 'd.png')], {
      HF_HOME: home,
      HF_ENDPOINT: hub.url,
      HF_HUB_OFFLINE: '1',
    });
    expect(r3.status, r3.stderr).toBe(0);
    expect(hub.requests).toEqual([]);

    // Offline, a model that is not there is named, with its own exit code.
    const r4 = await cli(['generate', '--model', 'var-d16', '--class', '1', '--out', path.join(home, 'e.png')], {
      HF_HOME: newHome(),
      HF_HUB_OFFLINE: '1',
    });
    expect(r4.status).toBe(12);
    expect(errorLines(r4)).toEqual([
      expect.stringMatching(
        /^nextscale: FoundationVision\/var\/var_d16\.pth@main is not in the cache .* HF_HUB_OFFLINE=1 forbids downloading it — unset HF_HUB_OFFLINE/,
      ),
    ]);
  });

  it("uses files placed by Python's huggingface_hub without downloading", async () => {
    const home = newHome();
    const repo = repoDir(home);
    for (const d of ['blobs', path.join('snapshots', hub.commit), 'refs'])
      mkdirSync(path.join(repo, d), { recursive: true });
    for (const f of FILES) {
      writeFileSync(path.join(repo, 'blobs', sha(f.data)), f.data);
      symlinkSync(path.join('..', '..', 'blobs', sha(f.data)), path.join(repo, 'snapshots', hub.commit, f.file));
    }
    writeFileSync(path.join(repo, 'refs', 'main'), hub.commit);
    hub.requests.length = 0;
    const r = await cli(
      ['generate', '--model', 'var-d16', '--class', '2', '--out', path.join(home, 'p.png'), '--json'],
      { HF_HOME: home, HF_ENDPOINT: hub.url },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(json(r).model.var).toMatchObject({ cached: true, transferred: 0 });
    expect(hub.requests.filter((q) => q.method === 'GET')).toEqual([]);
  });

  it('inspect and sample take --model too (the same cached files)', async () => {
    const home = newHome();
    const env = { HF_HOME: home, HF_ENDPOINT: hub.url };
    const i = await cli(['inspect', '--model', 'var-d16', '--json'], env);
    expect(i.status, i.stderr).toBe(0);
    expect(json(i)).toMatchObject({
      command: 'inspect',
      file: path.join(repoDir(home), 'snapshots', hub.commit, 'var_d16.pth'),
      kind: 'var',
    });
    hub.requests.length = 0;
    const bad = await cli(['inspect', '--model', 'var-d16', '--num-heads', 'x'], { ...env, HF_HOME: newHome() });
    expect(bad.status).toBe(2);
    expect(hub.requests).toEqual([]); // flags are checked before any download
    const out = path.join(home, 'set');
    const sm = await cli(
      ['sample', '--model', 'var-d16', '--per-class', '1', '--classes', '0,1', '--out', out, '--json'],
      env,
    );
    expect(sm.status, sm.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toContain(sha(VAR));
  });

  it('a config file can name the model ("model": "var-d16")', async () => {
    const home = newHome();
    const cfg = path.join(home, 'nextscale.config.json');
    writeFileSync(cfg, JSON.stringify({ model: 'var-d16' }));
    const r = await cli(['generate', '--config', cfg, '--class', '0', '--out', path.join(home, 'c.png'), '--json'], {
      HF_HOME: home,
      HF_ENDPOINT: hub.url,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(json(r).model.name).toBe('var-d16');
    expect(json(r).config.var).toMatchObject({ source: 'config', from: 'model var-d16' });
    // A flag's paths beat the config's name; a name and paths on one layer are refused.
    const both = await cli(
      ['generate', '--model', 'var-d16', '--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--class', '0'],
      { HF_HOME: home },
    );
    expect(both.status).toBe(2);
    expect(errorLines(both)).toEqual([
      expect.stringMatching(/both a model name and weights paths are given \(--model and --var\/--vae\) — pass either/),
    ]);
  });
});

describe('nextscale models', () => {
  it('pull, list and rm', async () => {
    const home = newHome();
    const env = { HF_HOME: home, HF_ENDPOINT: hub.url };
    const before = json(await cli(['models', '--json'], env));
    expect(before.models.find((m: { name: string }) => m.name === 'var-d16')).toMatchObject({
      cached: 'no',
      catalogue: modelsFile,
    });
    expect(before.models.find((m: { name: string }) => m.name === 'var-d36')).toMatchObject({
      resolution: 512,
      sharedAdaLN: true,
      catalogue: 'built-in',
      cached: 'no',
    });
    const pulled = await cli(['models', 'pull', 'var-d16'], env);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout).toMatch(/var_d16\.pth: 675\.6 kB, 675\.6 kB transferred, SHA-256 verified/);
    const list = await cli(['models'], env);
    expect(list.stdout).toMatch(/var-d16 .* yes +.*models--FoundationVision--var/);
    expect(list.stdout).toMatch(/var-d30 +2\.01 B +8\.48 GB +256×256 +no/);
    const rm = await cli(['models', 'rm', 'var-d16', '--json'], env);
    expect(json(rm)).toMatchObject({
      removed: ['var_d16.pth', 'vae_ch160v4096z32.pth'],
      freed: VAR.length + VAE.length,
    });
    expect(completeFiles(home).filter((f) => f.includes('blobs'))).toEqual([]);
    expect(json(await cli(['models', '--json'], env)).models[0].cached).toBe('no');
  });

  it('a download killed with SIGKILL halfway resumes from where it stopped', async () => {
    const home = newHome();
    const half = 300_000;
    const partial = path.join(repoDir(home), 'blobs', `${sha(VAR)}.incomplete`);
    hub.mode = { pauseAt: half };
    try {
      const killed = await cli(
        ['models', 'pull', 'var-d16'],
        { HF_HOME: home, HF_ENDPOINT: hub.url, HF_HUB_DOWNLOAD_TIMEOUT: '60' },
        {
          onSpawn: (kill) => {
            const poll = setInterval(() => {
              if (existsSync(partial) && statSync(partial).size >= half) {
                clearInterval(poll);
                kill();
              }
            }, 20);
          },
        },
      );
      expect(killed.status).toBe(null); // killed by the signal
    } finally {
      hub.mode = {};
    }
    expect(statSync(partial).size).toBe(half);
    expect(completeFiles(home)).toEqual([]);
    hub.requests.length = 0;
    const r = await cli(['models', 'pull', 'var-d16', '--json', '--verbose'], { HF_HOME: home, HF_ENDPOINT: hub.url });
    expect(r.status, r.stderr).toBe(0);
    expect(json(r).files[0]).toMatchObject({
      file: 'var_d16.pth',
      resumedFrom: half,
      transferred: VAR.length - half,
      cached: false,
    });
    expect(hub.requests.find((q) => q.method === 'GET' && q.path.includes(sha(VAR)))?.range).toBe(`bytes=${half}-`);
    expect(r.stderr).toMatch(/downloading FoundationVision\/var\/var_d16\.pth \(675\.6 kB\), resuming at 300\.0 kB/);
    expect(r.stderr).toMatch(
      /var_d16\.pth: 375\.6 kB downloaded in [\d.]+ s \(resumed at 300\.0 kB\), SHA-256 verified/,
    );
    expect(existsSync(partial)).toBe(false);
    expect(sha(readFileSync(json(r).files[0].path))).toBe(sha(VAR));
  });

  it('Ctrl-C during a download: exit 130, and the line says the partial file is kept for a resume', async () => {
    const home = newHome();
    const partial = path.join(repoDir(home), 'blobs', `${sha(VAR)}.incomplete`);
    hub.mode = { pauseAt: 100_000 };
    let r: Result;
    try {
      r = await cli(
        ['models', 'pull', 'var-d16'],
        { HF_HOME: home, HF_ENDPOINT: hub.url, HF_HUB_DOWNLOAD_TIMEOUT: '60' },
        {
          onSpawn: (kill) => {
            const poll = setInterval(() => {
              if (existsSync(partial) && statSync(partial).size >= 100_000) {
                clearInterval(poll);
                kill('SIGINT');
              }
            }, 20);
          },
        },
      );
    } finally {
      hub.mode = {};
    }
    expect(r.status).toBe(130);
    expect(errorLines(r)).toEqual([
      'nextscale: interrupted — the partial download of var_d16.pth is kept in the cache; run the same command again to resume it',
    ]);
    expect(statSync(partial).size).toBe(100_000);
  });

  const hostile: [HostileMode, number, RegExp][] = [
    ['status-404', 10, /no such file \(HTTP 404/],
    ['status-401', 11, /refused access \(HTTP 401\) — set HF_TOKEN/],
    ['status-429', 16, /HTTP 429 \(too many requests\) on every try/],
    ['status-500', 16, /HTTP 500 on every try/],
    ['wrong-hash', 13, /hash to sha256 .* the download was discarded/],
    ['size-lie', 13, /sends \d+ bytes where the hub promised/],
    ['length-lie', 13, /sent more than the \d+ bytes the hub promised/],
    ['redirect-loop', 17, /redirects in a loop/],
    ['stall', 15, /no data for 1 s/],
    ['truncate', 15, /connection (closed|broke|was closed)/],
    ['bad-etag', 17, /ETag '\.\.\/\.\.\/\.\.\/\.\.\/evil'/],
    ['bad-commit', 17, /commit '\.\.\/\.\.\/\.\.\/outside'/],
  ];
  for (const [mode, exit, message] of hostile) {
    it(`hostile hub (${mode}): exit ${exit}, one line, nothing corrupt in the cache`, async () => {
      const home = newHome();
      hub.mode = { hostile: mode };
      let r: Result;
      try {
        r = await cli(['generate', '--model', 'var-d16', '--class', '1', '--out', path.join(home, 'x.png')], {
          HF_HOME: home,
          HF_ENDPOINT: hub.url,
          NEXTSCALE_HUB_RETRIES: '1',
        });
      } finally {
        hub.mode = {};
      }
      expect(r.status, r.stderr).toBe(exit);
      const lines = errorLines(r);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(completeFiles(home)).toEqual([]);
      expect(existsSync(path.join(home, 'x.png'))).toBe(false);
    });
  }

  it('a full disk: exit 14, one line', async () => {
    const home = newHome();
    mkdirSync(path.join(repoDir(home), 'blobs'), { recursive: true });
    symlinkSync('/dev/full', path.join(repoDir(home), 'blobs', `${sha(VAR)}.incomplete`));
    const r = await cli(['models', 'pull', 'var-d16'], { HF_HOME: home, HF_ENDPOINT: hub.url });
    expect(r.status).toBe(14);
    expect(errorLines(r)).toEqual([expect.stringMatching(/is full — free some space, or point HF_HUB_CACHE/)]);
  });

  it('a catalogue entry with a ../ file name: exit 18 before any request', async () => {
    const home = newHome();
    const evil = path.join(home, 'evil.json');
    writeFileSync(
      evil,
      JSON.stringify([
        { name: 'var-d16', repo: REPO, files: { var: '../../../escape.pth', vae: 'vae_ch160v4096z32.pth' } },
      ]),
    );
    hub.requests.length = 0;
    const r = await cli(['models', 'pull', 'var-d16'], {
      HF_HOME: home,
      HF_ENDPOINT: hub.url,
      NEXTSCALE_MODELS_FILE: evil,
    });
    expect(r.status).toBe(18);
    expect(errorLines(r)).toEqual([expect.stringMatching(/refusing file name '\.\.\/\.\.\/\.\.\/escape\.pth'/)]);
    expect(hub.requests).toEqual([]);
  });

  it('the real catalogue refuses the tiny file served as var-d16: exit 19', async () => {
    const home = newHome();
    const r = await cli(['generate', '--model', 'var-d16', '--class', '1', '--out', path.join(home, 'x.png')], {
      HF_HOME: home,
      HF_ENDPOINT: hub.url,
      NEXTSCALE_MODELS_FILE: undefined,
    });
    expect(r.status).toBe(19);
    expect(errorLines(r)).toEqual([
      expect.stringMatching(
        /var_d16\.pth from FoundationVision\/var@main is not var-d16: it has depth 2, not 16, patch_nums 1,2,3,4, not 1,2,3,4,5,6,8,10,13,16 — check HF_ENDPOINT/,
      ),
    ]);
    expect(existsSync(path.join(home, 'x.png'))).toBe(false);
  });
});

describe('the catalogue', () => {
  it('matches the architecture: parameters and float32 bytes of each released shape', () => {
    for (const m of RELEASED_MODELS) {
      const spec = releasedVARSpec(m.depth);
      if (m.resolution === 512) Object.assign(spec, { patchNums: [...RELEASED_512_PATCH_NUMS], sharedAdaLN: true });
      expect(spec.patchNums).toEqual(m.patchNums);
      const counts = countStateDict(randomVARStateDictEntries(spec));
      expect({ name: m.name, params: counts.parameters, bytes: counts.bytes }).toEqual({
        name: m.name,
        params: m.params,
        bytes: m.bytes.var,
      });
    }
  });
});
