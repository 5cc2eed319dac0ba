/**
 * `nextscale sample` / `nextscale worker` end to end, on the shipped model, as processes: the `.npz`
 * of a set made with --batch 1, with --batch 4 killed (SIGKILL) and resumed, and over a real
 * redis-server (coordinator + two workers, one SIGKILLed mid-job, a third joining, the coordinator
 * itself SIGKILLed and restarted) must be byte-identical, hold no duplicate image and load with numpy
 * as uint8 (N, H, W, 3). Plus the bad inputs of issue 17: unreachable Redis, a worker with other model
 * files, a full disk, an unwritable folder, --per-class 0 or a non-number, another set in the folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHIPPED,
  cli as cliIn,
  errorLines,
  freePort,
  start as startIn,
  waitFor,
  waitForRedis,
  type Run,
  type StartOptions,
} from '../support/processes.js';

const PRELOAD = path.join(import.meta.dirname, 'enospc-preload.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-sample-e2e-'));
// 2 classes × 3 images: small enough for a few seconds per run, enough for several jobs and batches.
const SET = ['--per-class', '3', '--classes', '0,7'];
const STALL_MS = '1500';
const withDefaults = (o: Partial<StartOptions>): StartOptions => ({
  cwd: dir,
  ...o,
  env: { NEXTSCALE_STALL_MS: STALL_MS, ...o.env },
});
const start = (args: string[], o: Partial<StartOptions> = {}): Run => startIn(args, withDefaults(o));
const cli = (args: string[], o: Partial<StartOptions> = {}) => cliIn(args, withDefaults(o));

/** The `arr_0` of an .npz written with stored (uncompressed) entries: shape and data bytes. */
function readArr0(file: string): { shape: number[]; data: Buffer } {
  const b = readFileSync(file);
  expect(b.readUInt32LE(0)).toBe(0x04034b50);
  const nameLen = b.readUInt16LE(26);
  const extraLen = b.readUInt16LE(28);
  expect(b.toString('latin1', 30, 30 + nameLen)).toBe('arr_0.npy');
  const npy = 30 + nameLen + extraLen;
  expect(b.subarray(npy, npy + 6).toString('latin1')).toBe('\x93NUMPY');
  const hLen = b.readUInt16LE(npy + 8);
  const header = b.toString('latin1', npy + 10, npy + 10 + hLen);
  expect(header).toContain("'descr': '|u1'");
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const bytes = shape.reduce((a, x) => a * x, 1);
  return { shape, data: b.subarray(npy + 10 + hLen, npy + 10 + hLen + bytes) };
}

function expectNoDuplicates(a: { shape: number[]; data: Buffer }): void {
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  const rows = new Set<string>();
  for (let i = 0; i < a.shape[0]; i++)
    rows.add(
      createHash('sha256')
        .update(a.data.subarray(i * row, (i + 1) * row))
        .digest('hex'),
    );
  expect(rows.size).toBe(a.shape[0]);
}

const leftovers = (folder: string) => readdirSync(folder).filter((n) => n.includes('.tmp-'));

let reference: string; // the .npz made with --batch 1
let redis: ChildProcess | undefined;
let redisUrl = '';

beforeAll(async () => {
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  redisUrl = `redis://127.0.0.1:${port}`;
  await waitForRedis(redisUrl);
});

afterAll(() => {
  redis?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('one sample set, three ways, byte-identical', () => {
  it('--batch 1: PNGs class-major, manifest with every seed, the .npz at the end', async () => {
    const out = path.join(dir, 'b1');
    const r = await cli(['sample', ...SET, '--batch', '1', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ command: 'sample', mode: 'local', total: 6, made: 6, alreadyDone: 0 });
    expect(summary.settings).toMatchObject({
      cfg: 1.5,
      topK: 900,
      topP: 0.96,
      moreSmooth: false,
      perClass: 3,
      classes: [0, 7],
      seed: 0,
    });
    expect(readdirSync(out).sort()).toEqual([
      '0000_000000.png',
      '0000_000001.png',
      '0000_000002.png',
      '0007_000000.png',
      '0007_000001.png',
      '0007_000002.png',
      'manifest.json',
    ]);
    const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    const sha = createHash('sha256')
      .update(readFileSync(path.join(SHIPPED, 'var.safetensors')))
      .digest('hex');
    expect(m.model.var.sha256).toBe(sha);
    expect(m.done).toBe(6);
    expect(m.images.map((i: { class: number; index: number; done: boolean }) => [i.class, i.index, i.done])).toEqual([
      [0, 0, true],
      [0, 1, true],
      [0, 2, true],
      [7, 0, true],
      [7, 1, true],
      [7, 2, true],
    ]);
    expect(new Set(m.images.map((i: { seed: number }) => i.seed)).size).toBe(6);
    reference = `${out}.npz`;
    expect(summary.npz.path).toBe(reference);
    const a = readArr0(reference);
    expect(a.shape).toEqual([6, 32, 32, 3]);
    expectNoDuplicates(a);
  });

  it('--batch 4 killed with SIGKILL mid-run, then the same command again: resumes and matches', async () => {
    const out = path.join(dir, 'b4');
    const args = ['sample', ...SET, '--batch', '4', '--out', out, '--npz', path.join(dir, 'b4-set.npz'), '--verbose'];
    const first = start(args);
    await waitFor(first, (s) => /^\s+4\/6 images/m.test(s), 'the first batch to be stored');
    first.child.kill('SIGKILL');
    expect(await first.done).toBe(null);
    const stored = readdirSync(out).filter((n) => n.endsWith('.png'));
    expect(stored.length).toBeGreaterThanOrEqual(4);
    expect(stored.length).toBeLessThan(6);
    expect(existsSync(path.join(dir, 'b4-set.npz'))).toBe(false);

    const again = await cli([...args.slice(0, -1), '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 6, alreadyDone: stored.length, made: 6 - stored.length });
    expect(leftovers(out)).toEqual([]);
    expect(readFileSync(path.join(dir, 'b4-set.npz')).equals(readFileSync(reference))).toBe(true);
  });

  it('Ctrl-C mid-run: exit 130 and one line saying the finished images are kept for a resume', async () => {
    const out = path.join(dir, 'sigint');
    const run = start(['sample', ...SET, '--batch', '1', '--out', out, '--verbose']);
    await waitFor(run, (s) => /^\s+1\/6 images/m.test(s), 'the first image to be stored');
    run.child.kill('SIGINT');
    expect(await run.done).toBe(130);
    const last = run.stderr.trim().split('\n').pop();
    expect(last).toMatch(
      /^nextscale: interrupted — the images finished so far are kept in .*sigint; run the same command again to finish the set$/,
    );
    expect(readdirSync(out).filter((n) => n.endsWith('.png')).length).toBeGreaterThanOrEqual(1);
    expect(leftovers(out)).toEqual([]);
  });

  it('Redis going away mid-run: the coordinator says so at once and gives up after --queue-outage with exit 4, the set kept', async () => {
    const port = await freePort();
    const own = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    try {
      const url = `redis://127.0.0.1:${port}`;
      await waitForRedis(url);
      const out = path.join(dir, 'outage');
      // No worker: the coordinator enqueues and waits; then its Redis dies.
      const coord = start(['sample', ...SET, '--out', out, '--queue', url, '--queue-outage', '1', '--verbose']);
      await waitFor(coord, (s) => /jobs of up to/.test(s), 'the jobs to be enqueued');
      own.kill('SIGKILL');
      const t0 = Date.now();
      expect(await coord.done).toBe(4);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(coord.stderr).toMatch(
        /warning: lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+; reconnecting \(giving up after 1 s\)/,
      );
      expect(errorLines(coord.stderr)).toEqual([
        expect.stringMatching(
          /^nextscale: Redis at \S+ has not answered for 1 s — the images stored so far are kept in .*outage; start Redis again and run the same command to carry on$/,
        ),
      ]);
      expect(existsSync(path.join(out, 'manifest.json'))).toBe(true);
      expect(leftovers(out)).toEqual([]);
    } finally {
      own.kill('SIGKILL');
    }
  });

  it('over Redis: a coordinator and two workers, one SIGKILLed mid-job, a third joining, the coordinator SIGKILLed and restarted', async () => {
    const out = path.join(dir, 'queued');
    const coordArgs = ['sample', ...SET, '--batch', '1', '--out', out, '--queue', redisUrl, '--queue-name', 'e2e'];
    const workerArgs = ['worker', '--queue', redisUrl, '--queue-name', 'e2e', '--verbose'];
    const coord1 = start([...coordArgs, '--verbose']);
    const a = start(workerArgs);
    const b = start(workerArgs);
    // A dies in the middle of its first job: that job must be retried by another worker after the stall interval.
    await waitFor(a, (s) => /^job \S+ started/m.test(s), "worker A's first job");
    a.child.kill('SIGKILL');
    const killedJob = /^job (\S+) started/m.exec(a.stderr)![1];
    const c = start(workerArgs);
    // The coordinator dies after it stored some images; a new one carries on with the same command.
    await waitFor(coord1, (s) => /^\s+[2-5]\/6 images/m.test(s), 'the coordinator to store images');
    coord1.child.kill('SIGKILL');
    await coord1.done;
    const coord2 = await cli([...coordArgs, '--json']);
    expect(coord2.status, coord2.stderr).toBe(0);
    const s = JSON.parse(coord2.stdout);
    expect(s.mode).toBe('queue');
    expect(s.alreadyDone + s.made).toBe(6);
    expect(s.alreadyDone).toBeGreaterThanOrEqual(2);
    const workerOf = (r: Run) => `${os.hostname()}:${r.child.pid}`;
    expect(Object.keys(s.queue.byWorker)).not.toContain(workerOf(a));
    // The killed job came back, unless coordinator 1 collected it (then it was already retried there).
    const retried = s.queue.retried.find((j: { id: string }) => j.id === killedJob);
    if (retried) {
      expect(retried.worker).not.toBe(workerOf(a));
      expect(retried.stalled + retried.attemptsStarted).toBeGreaterThan(1);
    }
    const inFolder = readdirSync(out).filter((n) => n.endsWith('.png'));
    expect(inFolder.length).toBe(6);
    expect(leftovers(out)).toEqual([]);
    expect(readFileSync(`${out}.npz`).equals(readFileSync(reference))).toBe(true);
    // The job A died in was done again by B or C: its image is in the set (checked above) and A made none.
    expect(b.stderr + c.stderr).toContain(`job ${killedJob} done`);
    b.child.kill('SIGTERM');
    c.child.kill('SIGTERM');
    expect(await b.done).toBe(130);
    expect(await c.done).toBe(130);
  });

  it('the js reference engine makes the same set (--engine js, --batch 3)', async () => {
    const out = path.join(dir, 'js');
    const r = await cli(['sample', ...SET, '--batch', '3', '--engine', 'js', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).engine.id).toBe('js');
    expect(readFileSync(`${out}.npz`).equals(readFileSync(reference))).toBe(true);
  });

  const numpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!numpy)(
    'numpy loads the .npz as uint8 (N, H, W, 3), the same bytes (skipped without python3 + numpy)',
    () => {
      const py = spawnSync(
        'python3',
        [
          '-c',
          `import hashlib, numpy as np; a=np.load(${JSON.stringify(reference)})['arr_0']; print(a.dtype, a.shape, hashlib.sha256(a.tobytes()).hexdigest())`,
        ],
        { encoding: 'utf8' },
      );
      expect(py.status, py.stderr).toBe(0);
      const a = readArr0(reference);
      expect(py.stdout.trim()).toBe(`uint8 (6, 32, 32, 3) ${createHash('sha256').update(a.data).digest('hex')}`);
    },
  );
});

describe('bad input: one line, the exit code, nothing corrupt', () => {
  it('an unreachable Redis: exit 4 within seconds (coordinator and worker)', async () => {
    const port = await freePort();
    for (const args of [
      ['sample', ...SET, '--out', path.join(dir, 'never'), '--queue', `redis://127.0.0.1:${port}`],
      ['worker', '--queue', `redis://127.0.0.1:${port}`],
    ]) {
      const t0 = Date.now();
      const r = await cli(args);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.status, r.stderr).toBe(4);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(
          /^nextscale: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\) — start redis-server/,
        ),
      ]);
    }
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });

  it('a worker whose model files differ from the set is refused, naming the file', async () => {
    // Same weights, another file: the safetensors header padded with one more space (still valid).
    const src = readFileSync(path.join(SHIPPED, 'var.safetensors'));
    const n = Number(src.readBigUInt64LE(0));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(n + 1));
    const other = path.join(dir, 'other-var.safetensors');
    writeFileSync(other, Buffer.concat([len, src.subarray(8, 8 + n), Buffer.from(' '), src.subarray(8 + n)]));

    const coord = start([
      'sample',
      '--per-class',
      '1',
      '--classes',
      '3',
      '--out',
      path.join(dir, 'refused'),
      '--queue',
      redisUrl,
      '--queue-name',
      'refusal',
    ]);
    const w = await cli([
      'worker',
      '--queue',
      redisUrl,
      '--queue-name',
      'refusal',
      '--var',
      other,
      '--vae',
      path.join(SHIPPED, 'vae.safetensors'),
    ]);
    expect(w.status, w.stderr).toBe(2);
    expect(errorLines(w.stderr)).toEqual([
      expect.stringMatching(
        /^nextscale: this worker cannot take the queue's sample set: VAR file .*other-var\.safetensors has sha256 [0-9a-f]{12}…, the set's has [0-9a-f]{12}…/,
      ),
    ]);
    await waitFor(
      coord,
      (s) => /warning: worker \S+ refused job/.test(s),
      'the coordinator to report the refusal',
      10_000,
    );
    coord.child.kill('SIGTERM');
    expect(await coord.done).toBe(130);
    expect(existsSync(path.join(dir, 'refused.npz'))).toBe(false);
  });

  it('a full disk: exit 2 with the fix, only complete PNGs, no .npz; the same command then finishes the set', async () => {
    const out = path.join(dir, 'full');
    const args = ['sample', ...SET, '--batch', '2', '--out', out];
    const r = await cli(args, {
      node: ['--import', PRELOAD],
      env: { NEXTSCALE_TEST_ENOSPC_DIR: out, NEXTSCALE_TEST_ENOSPC_AFTER: '3' },
    });
    expect(r.status, r.stderr).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^nextscale: cannot write .*full\/\d{4}_\d{6}\.png \(the disk is full\) — free some space and run the same command again \(it resumes\)$/,
      ),
    ]);
    expect(existsSync(`${out}.npz`)).toBe(false);
    expect(leftovers(out)).toEqual([]);
    const pngs = readdirSync(out).filter((f) => f.endsWith('.png'));
    expect(pngs.length).toBeGreaterThanOrEqual(1);
    expect(pngs.length).toBeLessThan(6);
    const again = await cli([...args, '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(`${out}.npz`).equals(readFileSync(reference))).toBe(true);
  });

  it('an unwritable --out, --per-class 0 or a non-number, another set in the folder: exit 2, one line', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string[], RegExp][] = [
      [
        ['sample', ...SET, '--out', path.join(file, 'sub')],
        /^nextscale: cannot write .*a-file\/sub \(a path in it is a file, not a folder\) — pass another --out folder$/,
      ],
      [
        ['sample', '--per-class', '0', '--out', path.join(dir, 'zero')],
        /^nextscale: --per-class must be positive, got 0 — pass --per-class <n>/,
      ],
      [
        ['sample', '--per-class', 'ten', '--out', path.join(dir, 'zero')],
        /^nextscale: --per-class expects an integer, got 'ten' — pass --per-class <n>/,
      ],
      [
        ['sample', ...SET, '--batch', '2.5', '--out', path.join(dir, 'zero')],
        /^nextscale: --batch expects an integer, got '2\.5'/,
      ],
      [
        ['sample', ...SET, '--cfg', '2', '--out', path.join(dir, 'b1')],
        /^nextscale: .*b1 holds another sample set \(cfg 1\.5 → 2\) — run the command that made it/,
      ],
      [
        ['sample', ...SET, '--out', path.join(dir, 'b1'), '--queue', 'http://localhost:6379'],
        /^nextscale: --queue http:\/\/localhost:6379 is not a redis:\/\/ URL — pass --queue redis:\/\/host:port$/,
      ],
    ];
    for (const [args, line] of cases) {
      const r = await cli(args);
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      expect(errorLines(r.stderr), args.join(' ')).toEqual([expect.stringMatching(line)]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(path.join(dir, 'zero'))).toBe(false);
    // The other set's folder is untouched.
    expect(readFileSync(`${path.join(dir, 'b1')}.npz`).equals(readFileSync(reference))).toBe(true);
  });
});
