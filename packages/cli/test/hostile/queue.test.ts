/**
 * The queue as a hostile writer to its Redis would use it (issue 26, cases 1–5): forged and malformed
 * results, jobs edited while they wait, jobs of other sets that are not JSON, a job far beyond a
 * worker's memory, a coordinator with no worker, and Redis with a password. Every set made this way
 * must be byte-identical to the honest one or refused with the job named; nothing waits forever.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHIPPED,
  cli as cliIn,
  errorLines,
  start as startIn,
  startRedis,
  waitFor,
  type Run,
  type StartOptions,
} from '../support/processes.js';
import { jobDataOf, planDigest } from '../../src/sampling/queue.js';
import type { SetIdentity } from '../../src/sampling/manifest.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-hostile-queue-'));
const opts = (o: Partial<StartOptions> = {}): StartOptions => ({
  cwd: dir,
  ...o,
  env: { NEXTSCALE_STALL_MS: '1500', ...o.env },
});
const start = (args: string[], o: Partial<StartOptions> = {}): Run => startIn(args, opts(o));
const cli = (args: string[], o: Partial<StartOptions> = {}) => cliIn(args, opts(o));
// 2 classes × 5 images, one per job: ten jobs, one for each hostile result below.
const SET = ['--per-class', '5', '--classes', '0,7', '--batch', '1'];

let redis: ChildProcess;
let url = '';
let hostile: Redis;
let reference: Buffer;

beforeAll(async () => {
  ({ url, server: redis } = await startRedis());
  hostile = new Redis(url);
  const r = await cli(['sample', ...SET, '--out', path.join(dir, 'honest')]);
  expect(r.status, r.stderr).toBe(0);
  reference = readFileSync(path.join(dir, 'honest.npz'));
});

afterAll(() => {
  hostile?.disconnect();
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const key = (queue: string, id: string) => `bull:${queue}:${id}`;
/** The ids of the jobs waiting in `queue`, oldest first. */
const waiting = async (queue: string) => (await hostile.lrange(`bull:${queue}:wait`, 0, -1)).reverse();

/** What a hostile writer does to finish a job with a result of its own: out of the wait list, into completed. */
async function forgeCompletion(queue: string, id: string, returnvalue: string): Promise<void> {
  await hostile.lrem(`bull:${queue}:wait`, 0, id);
  await hostile.hset(key(queue, id), 'returnvalue', returnvalue, 'finishedOn', Date.now());
  await hostile.zadd(`bull:${queue}:completed`, Date.now(), id);
}

const pngOf = (side: number, fill: number) => {
  const png = new PNG({ width: side, height: side, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.alloc(side * side * 3, fill);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }).toString('base64');
};

describe('hostile results and jobs in Redis', () => {
  it('cases 1–3: forged, oversized and malformed results, off-plan names, non-JSON data, a malformed job of another set: all refused by name, the set byte-identical', async () => {
    const queue = 'forged';
    const out = path.join(dir, 'forged');
    const coord = start(
      ['sample', ...SET, '--out', out, '--queue', url, '--queue-name', queue, '--verbose', '--json'],
      { rss: true },
    );
    await waitFor(coord, (s) => /jobs of up to/.test(s), 'the jobs to be enqueued');
    const ids = await waiting(queue);
    expect(ids).toHaveLength(10);
    const data = await Promise.all(
      ids.map(
        async (id) =>
          JSON.parse((await hostile.hget(key(queue, id), 'data'))!) as { digest: string; images: { file: string }[] },
      ),
    );
    const result = (i: number, images: unknown) =>
      JSON.stringify({ setId: 'x', digest: data[i].digest, worker: 'evil', engine: 'x', ms: 1, images });
    const file = (i: number) => data[i].images[0].file;
    const forged: [string, string][] = [
      [
        'not a PNG',
        result(0, [{ file: file(0), png: Buffer.from('hello, this is not a picture').toString('base64') }]),
      ],
      ['64×64', result(1, [{ file: file(1), png: pngOf(64, 255) }])],
      ['20 MiB of noise', result(2, [{ file: file(2), png: Buffer.alloc(20 << 20, 7).toString('base64') }])],
      ['images: 5', JSON.stringify({ digest: data[3].digest, images: 5 })],
      ['png: null', result(4, [{ file: file(4), png: null }])],
      ['not JSON', '{"images": ['],
      [
        'outside --out',
        result(6, [
          { file: '../../x.png', png: pngOf(32, 0) },
          { file: '/tmp/x.png', png: pngOf(32, 0) },
          { file: 'manifest.json', png: pngOf(32, 0) },
        ]),
      ],
      [
        'right size, wrong digest',
        JSON.stringify({ digest: '0'.repeat(64), images: [{ file: file(7), png: pngOf(32, 128) }] }),
      ],
    ];
    for (let i = 0; i < forged.length; i++) await forgeCompletion(queue, ids[i], forged[i][1]);
    // Job 8's data is not JSON (it would stay active forever); a job of another set is malformed and done.
    await hostile.hset(key(queue, ids[8]), 'data', 'not json {');
    await hostile.hset(
      key(queue, 'other-set-1'),
      'data',
      '{"images": 5}',
      'returnvalue',
      'garbage',
      'timestamp',
      Date.now(),
    );
    await hostile.zadd(`bull:${queue}:completed`, Date.now(), 'other-set-1');

    await waitFor(
      coord,
      (s) => ids.slice(0, 9).every((id) => s.includes(`job ${id} of queue ${queue}:`)),
      'a warning naming each forged job',
      30_000,
    );
    const worker = start(['worker', '--queue', url, '--queue-name', queue, '--max-idle', '3']);
    const status = await coord.done;
    expect(status, coord.stderr).toBe(0);
    expect(await worker.done, worker.stderr).toBe(0);
    expect(readFileSync(`${out}.npz`).equals(reference)).toBe(true);
    const summary = JSON.parse(coord.stdout);
    expect(summary.made).toBe(10);
    expect(summary.queue.requeued.map((r: { id: string }) => r.id).sort()).toEqual(ids.slice(0, 9).sort());
    for (const line of [
      /not a PNG/,
      /a 64×64 PNG, the model makes 32×32/,
      /its result is \d+\.\d MiB, more than 1 PNGs of 32×32 can be/,
      /its result holds no list of images/,
      /no PNG data/,
      /its result is not JSON/,
      /"\.\.\/\.\.\/x\.png", which it was not asked for/,
      /rendered from another plan than the one enqueued/,
      /its data was changed in Redis \(its data is not JSON\)/,
      /skipped job other-set-1 of queue forged and removed it: its data has no set id or digest/,
    ]) {
      expect(coord.stderr).toMatch(line);
    }
    expect(errorLines(coord.stderr)).toEqual([]);
    expect(existsSync(path.join(dir, 'x.png'))).toBe(false);
    expect(await hostile.exists(key(queue, 'other-set-1'))).toBe(0);
    // Holding a 20 MiB forged result is not reading it: the coordinator stays small.
    console.log(`coordinator peak RSS with a 20 MiB forged result: ${(coord.peakRss! / 2 ** 20).toFixed(0)} MiB`);
    expect(coord.peakRss!).toBeLessThan(1 << 30);
  });

  it('case 4: a waiting job rewritten (cfg 9, top-k 1, another seed and class) with its digest recomputed: restored or refused, the set byte-identical', async () => {
    const queue = 'rewritten';
    const out = path.join(dir, 'rewritten');
    const coord = start(['sample', ...SET, '--out', out, '--queue', url, '--queue-name', queue, '--verbose', '--json']);
    await waitFor(coord, (s) => /jobs of up to/.test(s), 'the jobs to be enqueued');
    const ids = await waiting(queue);
    const edit = async (id: string, recompute: boolean) => {
      const d = JSON.parse((await hostile.hget(key(queue, id), 'data'))!);
      d.settings = { ...d.settings, cfg: 9, topK: 1 };
      d.images = [{ ...d.images[0], cls: 3, seed: 12345 }];
      if (recompute) d.digest = planDigest(d.model, d.settings, d.images);
      await hostile.hset(key(queue, id), 'data', JSON.stringify(d));
    };
    await edit(ids[0], true);
    await edit(ids[1], false);
    const worker = start(['worker', '--queue', url, '--queue-name', queue, '--max-idle', '3']);
    expect(await coord.done, coord.stderr).toBe(0);
    expect(await worker.done, worker.stderr).toBe(0);
    expect(readFileSync(`${out}.npz`).equals(reference)).toBe(true);
    for (const id of ids.slice(0, 2)) expect(coord.stderr + worker.stderr).toContain(`job ${id}`);
  });

  it('case 4, persistent: a writer that keeps editing one job gets the run refused with that job named (exit 3), never a different set', async () => {
    const queue = 'persistent';
    const out = path.join(dir, 'persistent');
    const coord = start(['sample', ...SET, '--out', out, '--queue', url, '--queue-name', queue, '--verbose']);
    await waitFor(coord, (s) => /jobs of up to/.test(s), 'the jobs to be enqueued');
    const [id] = await waiting(queue);
    let editing = true;
    const editor = (async () => {
      while (editing) {
        const raw = await hostile.hget(key(queue, id!), 'data');
        if (raw && !raw.includes('"cfg":9'))
          await hostile.hset(key(queue, id!), 'data', raw.replace('"cfg":1.5', '"cfg":9'));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const status = await coord.done;
    editing = false;
    await editor;
    expect(status, coord.stderr).toBe(3);
    expect(errorLines(coord.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nextscale: job ${id} of queue persistent at redis://127\\.0\\.0\\.1:\\d+ came back wrong 4 times \\(last: .*\\); nothing from it was kept — someone else writes to that Redis: give the queue a Redis of its own with a password`,
        ),
      ),
    ]);
    expect(existsSync(`${out}.npz`)).toBe(false);
  });

  it('case 5: a worker refuses a job of 100,000 images before rendering it (memory) and a job whose data is not JSON; it stays small and nothing stays active', async () => {
    const queue = 'huge';
    const manifest = JSON.parse(readFileSync(path.join(dir, 'honest', 'manifest.json'), 'utf8')) as SetIdentity;
    const sha = (f: string) =>
      createHash('sha256')
        .update(readFileSync(path.join(SHIPPED, f)))
        .digest('hex');
    expect(manifest.model.var.sha256).toBe(sha('var.safetensors'));
    const identity: SetIdentity = {
      model: manifest.model,
      settings: { ...manifest.settings, perClass: 100_000, classes: [0] },
    };
    const { planSet } = await import('../../src/sampling/plan.js');
    const data = jobDataOf(identity, planSet([0], 100_000, 0));
    // A hostile writer adds jobs as BullMQ does (the Queue API), the second with data that is not JSON.
    const { Queue } = await import('bullmq');
    const q = new Queue(queue, { connection: hostile.duplicate() });
    await q.add('sample', data, { jobId: 'huge-0-100000' });
    await q.add('sample', { x: 1 }, { jobId: 'garbled' });
    await hostile.hset(key(queue, 'garbled'), 'data', '{"setId": ');
    const worker = await cli(['worker', '--queue', url, '--queue-name', queue, '--max-idle', '3', '--verbose'], {
      rss: true,
      killAboveRss: 2 ** 31,
    });
    expect(worker.status, worker.stderr).toBe(0);
    expect(worker.stderr).toMatch(/refused job huge-0-100000: its 100000 images do not fit here \(/);
    expect(worker.stderr).toMatch(/refused job garbled: its data is not JSON/);
    expect(worker.stderr).not.toMatch(/job huge-0-100000 started/);
    expect(await q.getJobState('huge-0-100000')).toBe('failed');
    expect(await q.getJobState('garbled')).toBe('failed');
    console.log(`worker peak RSS after refusing a 100,000-image job: ${(worker.peakRss! / 2 ** 20).toFixed(0)} MiB`);
    expect(worker.peakRss!).toBeLessThan(1 << 30);
    await q.close();
  });

  it('no worker: the coordinator gives up after --queue-wait, naming the jobs it waits for (exit 4)', async () => {
    const out = path.join(dir, 'nobody');
    const t0 = Date.now();
    const r = await cli([
      'sample',
      ...SET,
      '--out',
      out,
      '--queue',
      url,
      '--queue-name',
      'nobody',
      '--queue-wait',
      '2',
    ]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.status, r.stderr).toBe(4);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^nextscale: no image came back from queue nobody at redis:\/\/127\.0\.0\.1:\d+ in 2 s; still waiting for 10 jobs \([0-9a-f]{16}-0-1, [0-9a-f]{16}-1-1, [0-9a-f]{16}-2-1, …\) — check that workers run .* or pass a longer --queue-wait; the images stored so far are kept/,
      ),
    ]);
  });
});

describe('Redis with a password, and over TLS', () => {
  it('redis://:password@…: a set is made; a wrong password is exit 4 and the password is never printed', async () => {
    const own = await startRedis(['--requirepass', 's3cret-pw'], ':s3cret-pw@');
    try {
      const out = path.join(dir, 'auth');
      const coord = start([
        'sample',
        '--per-class',
        '1',
        '--classes',
        '0,7',
        '--out',
        out,
        '--queue',
        own.url,
        '--json',
        '--verbose',
      ]);
      await waitFor(coord, (s) => /jobs of up to/.test(s), 'the jobs to be enqueued');
      const worker = start(['worker', '--queue', own.url, '--max-idle', '3', '--json']);
      expect(await coord.done, coord.stderr).toBe(0);
      expect(await worker.done, worker.stderr).toBe(0);
      expect(JSON.parse(coord.stdout).queue.url).toBe(`redis://:***@127.0.0.1:${own.port}`);
      expect(coord.stdout + coord.stderr + worker.stdout + worker.stderr).not.toContain('s3cret-pw');
      const bad = await cli([
        'sample',
        '--per-class',
        '1',
        '--out',
        path.join(dir, 'auth-bad'),
        '--queue',
        `redis://:wrong-pw@127.0.0.1:${own.port}`,
      ]);
      expect(bad.status, bad.stderr).toBe(4);
      expect(errorLines(bad.stderr)).toEqual([
        expect.stringMatching(/^nextscale: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(.*\) — /),
      ]);
      expect(bad.stderr).not.toContain('wrong-pw');
    } finally {
      own.server.kill('SIGKILL');
    }
  });

  it('rediss://user:password@…: a set is made over TLS with an ACL user (the CA given by NODE_EXTRA_CA_CERTS)', async () => {
    const cert = path.join(dir, 'redis-cert.pem');
    const key = path.join(dir, 'redis-key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const own = await startRedis(
      ['--user', 'sampler', 'on', '>tls-pw', '~*', '&*', '+@all', '--user', 'default', 'off'],
      'sampler:tls-pw@',
      { cert, key },
    );
    try {
      const env = { NODE_EXTRA_CA_CERTS: cert };
      const out = path.join(dir, 'tls');
      const coord = start(
        ['sample', '--per-class', '1', '--classes', '0,7', '--out', out, '--queue', own.url, '--json', '--verbose'],
        { env },
      );
      await waitFor(coord, (s) => /jobs of up to/.test(s), 'the jobs to be enqueued');
      const worker = start(['worker', '--queue', own.url, '--max-idle', '3'], { env });
      expect(await coord.done, coord.stderr).toBe(0);
      expect(await worker.done, worker.stderr).toBe(0);
      expect(JSON.parse(coord.stdout).queue.url).toBe(`rediss://sampler:***@127.0.0.1:${own.port}`);
      expect(coord.stdout + coord.stderr + worker.stderr).not.toContain('tls-pw');
      // The same server over plain redis:// is refused (exit 4), the password not shown.
      const plain = await cli(['worker', '--queue', own.url.replace('rediss:', 'redis:')]);
      expect(plain.status, plain.stderr).toBe(4);
      expect(plain.stderr).not.toContain('tls-pw');
    } finally {
      own.server.kill('SIGKILL');
    }
  });
});
