/**
 * The corpus cases that need a process of their own: Ctrl-C (SIGINT) and SIGTERM at every stage, two
 * commands writing the same output at once, and the memory of `inspect` and `convert` on a 3 GB file.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCheckpoint } from '@nextscale/core/testing';
import { SHIPPED } from './corpus.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'nextscale.js');
const RSS = path.join(import.meta.dirname, 'rss-report.cjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
  /** From the signal to the exit. */
  afterSignalMs?: number;
  peakRss?: number;
}

/** Runs the CLI; when `when(stderr)` first holds (or after `afterMs`), sends `signal`. */
function cli(
  args: string[],
  o: {
    signal?: NodeJS.Signals;
    when?: (stderr: string) => boolean;
    afterMs?: number;
    rss?: boolean;
    cwd?: string;
  } = {},
): Promise<Exit> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
    const rssFile = path.join(dir, `rss-${Math.random().toString(36).slice(2)}`);
    if (o.rss) env['NEXTSCALE_TEST_RSS_FILE'] = rssFile;
    const child = spawn(process.execPath, [...(o.rss ? ['--require', RSS] : []), BIN, ...args], {
      env,
      cwd: o.cwd ?? dir,
    });
    let stdout = '';
    let stderr = '';
    let signalledAt: number | undefined;
    const send = () => {
      if (signalledAt !== undefined || !o.signal) return;
      signalledAt = performance.now();
      child.kill(o.signal);
    };
    if (o.afterMs !== undefined) setTimeout(send, o.afterMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (o.when?.(stderr)) send();
    });
    child.on('close', (status) => {
      const peakRss = o.rss && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : undefined;
      resolve({
        status,
        stdout,
        stderr,
        afterSignalMs: signalledAt === undefined ? undefined : performance.now() - signalledAt,
        peakRss,
      });
    });
  });
}

/** Interrupted: exit 130, the one interrupted line last on stderr, no stack trace. */
function expectInterrupted(r: Exit): void {
  expect(r.status, r.stderr).toBe(130);
  const lines = r.stderr
    .split('\n')
    .filter((l) => l && !/^(loading|dense engine|scale|decoding|decoded|converting|\s+\d+\/\d+)/.test(l));
  expect(lines).toEqual(['nextscale: interrupted — nothing was written']);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  // A hang check, not a benchmark: before the fix a synchronous parse ignored SIGTERM for minutes.
  expect(r.afterSignalMs!).toBeLessThan(10_000);
}

const leftovers = (folder: string, keep: string[]) => readdirSync(folder).filter((f) => !keep.includes(f));

describe('Ctrl-C and SIGTERM at every stage', () => {
  const stages: [string, NodeJS.Signals, (s: string) => boolean][] = [
    ['loading', 'SIGINT', (s) => s.includes('loading ')],
    ['the first scale', 'SIGINT', (s) => s.includes('scale 1/')],
    ['the last scale', 'SIGTERM', (s) => s.includes('scale 6/')],
    ['decoding', 'SIGINT', (s) => s.includes('decoding')],
  ];
  for (const [stage, sig, when] of stages) {
    it(`generate, ${sig} during ${stage}: exit 130, nothing written`, async () => {
      const folder = mkdtempSync(path.join(dir, 'gen-'));
      const r = await cli(['generate', '--batch', '10', '--verbose', '--out', path.join(folder, 'out.png')], {
        signal: sig,
        when,
      });
      console.log(`generate ${sig} during ${stage}: exited ${Math.round(r.afterSignalMs ?? -1)} ms after the signal`);
      expectInterrupted(r);
      expect(leftovers(folder, [])).toEqual([]);
    });
  }

  it('inspect, SIGTERM during the synchronous-looking parse of a 200 MB pickle: exit 130 at once', async () => {
    // 66 million NONE/TUPLE1/POP triples: valid opcodes that take many seconds to run (each builds a
    // tuple) and hold no memory, so the signal surely lands inside the parse.
    const n = 66_000_000;
    const pkl = Buffer.alloc(2 + 3 * n + 3);
    pkl[0] = 0x80;
    pkl[1] = 0x02;
    for (let i = 2; i < 2 + 3 * n; i += 3) {
      pkl[i] = 0x4e;
      pkl[i + 1] = 0x85;
      pkl[i + 2] = 0x30;
    }
    pkl.set([0x7d, 0x2e], 2 + 3 * n); // EMPTY_DICT, STOP
    const file = path.join(dir, 'slow.pth');
    writeFileSync(file, buildCheckpoint('archive', pkl.subarray(0, pkl.length - 1), {}));
    const t0 = performance.now();
    const r = await cli(['inspect', file], { signal: 'SIGTERM', afterMs: 1500 });
    console.log(
      `inspect SIGTERM during parsing: exited ${Math.round(r.afterSignalMs ?? -1)} ms after the signal (${Math.round(performance.now() - t0)} ms in all)`,
    );
    expectInterrupted(r);
    rmSync(file);
  });
});

describe('two commands writing the same output at once', () => {
  it('generate: both succeed and the file is one complete PNG, no temporary files left', async () => {
    const folder = mkdtempSync(path.join(dir, 'race-'));
    const out = path.join(folder, 'same.png');
    const [a, b] = await Promise.all([
      cli(['generate', '--seed', '1', '--out', out]),
      cli(['generate', '--seed', '2', '--out', out]),
    ]);
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]);
    const png = PNG.sync.read(readFileSync(out));
    expect(`${png.width}×${png.height}`).toBe(/(\d+×\d+)\s*$/.exec(a.stdout)![1]);
    expect(leftovers(folder, ['same.png'])).toEqual([]);
  });
  it('convert --force: both succeed and the output is one complete, valid file', async () => {
    const folder = mkdtempSync(path.join(dir, 'race-convert-'));
    const out = path.join(folder, 'same.safetensors');
    const src = path.join(SHIPPED, 'var.safetensors');
    const [a, b] = await Promise.all([cli(['convert', src, out, '--force']), cli(['convert', src, out, '--force'])]);
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(leftovers(folder, ['same.safetensors'])).toEqual([]);
  });
});

describe('memory on a 3 GB file', () => {
  // 24 F32 tensors of 128 MiB: a 3.2 GB safetensors file, sparse (all zeros), made in milliseconds.
  const big = path.join(dir, 'big.safetensors');
  const TENSORS = 24;
  const EACH = 128 * 1024 * 1024;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (let i = 0; i < TENSORS; i++)
    header[`layer${i}.weight`] = {
      dtype: 'F32',
      shape: [EACH / 4 / 1024, 1024],
      data_offsets: [i * EACH, (i + 1) * EACH],
    };
  const json = Buffer.from(JSON.stringify(header));
  const size = 8 + json.length + TENSORS * EACH;
  const fd = openSync(big, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, Buffer.concat([len, json]), 0, 8 + json.length, 0);
  ftruncateSync(fd, size);
  closeSync(fd);
  const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

  it('inspect reads the index only: peak RSS far below the file size', async () => {
    const r = await cli(['inspect', big, '--no-tensors'], { rss: true });
    expect(r.status, r.stderr).toBe(0);
    console.log(`inspect on a ${gb(size)} file: peak RSS ${gb(r.peakRss!)}`);
    expect(r.peakRss!).toBeLessThan(size / 10);
  });

  it('convert streams tensor by tensor: peak RSS well under the file size', async () => {
    // --no-verify keeps the suite quick (verification re-reads both files tensor by tensor, the same
    // way, and doubles the time); the memory figure is the write path's.
    const out = path.join(dir, 'big-out.safetensors');
    const r = await cli(['convert', big, out, '--no-verify'], { rss: true });
    expect(r.status, r.stderr).toBe(0);
    console.log(`convert of a ${gb(size)} file: peak RSS ${gb(r.peakRss!)}`);
    expect(r.peakRss!).toBeLessThan(size / 3);
    rmSync(out);
  });

  it('convert, SIGINT while writing: exit 130, no output and no temporary file', async () => {
    const folder = mkdtempSync(path.join(dir, 'big-int-'));
    const r = await cli(['convert', big, path.join(folder, 'out.safetensors'), '--verbose'], {
      signal: 'SIGINT',
      when: (s) => /\b2\/24\b/.test(s),
    });
    console.log(`convert SIGINT while writing: exited ${Math.round(r.afterSignalMs ?? -1)} ms after the signal`);
    expectInterrupted(r);
    expect(leftovers(folder, [])).toEqual([]);
    rmSync(big);
  });
});
