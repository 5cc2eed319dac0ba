/**
 * A sample set's folder as someone else may leave it (issue 26, cases 6–12): pipes, devices and links
 * named like images, replaced or resized pictures, packing interrupted, temporary-looking files that are
 * not ours, an unrelated .npz in the way, and a set larger than a manifest holds. Each run ends with one
 * line naming the right file, the documented exit code, nothing hung and nothing of the user's deleted.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli as cliIn, errorLines, start as startIn, waitFor, type StartOptions } from '../support/processes.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-hostile-set-'));
const opts = (o: Partial<StartOptions> = {}): StartOptions => ({ cwd: dir, ...o });
const SET = ['sample', '--per-class', '2', '--classes', '0,7', '--batch', '4'];
let honest = '';
let reference: Buffer;

/** Runs the CLI, killing it (SIGKILL) if it has not ended in `ms`: a hang fails the test instead of stalling it. */
async function run(args: string[], o: Partial<StartOptions> = {}, ms = 30_000) {
  const r = startIn(args, { killAboveRss: 2 ** 31, ...opts(o) });
  const t = setTimeout(() => r.child.kill('SIGKILL'), ms);
  const status = await r.done;
  clearTimeout(t);
  return { status, stdout: r.stdout, stderr: r.stderr, peakRss: r.peakRss };
}

/** A copy of the honest, finished set folder (without its .npz), to tamper with. */
function copyOfHonest(name: string): string {
  const out = path.join(dir, name);
  cpSync(honest, out, { recursive: true });
  return out;
}

const whitePng = (side: number) => {
  const png = new PNG({ width: side, height: side });
  png.data.fill(255);
  return PNG.sync.write(png);
};

beforeAll(async () => {
  honest = path.join(dir, 'honest');
  const r = await cliIn([...SET, '--out', honest], opts());
  expect(r.status, r.stderr).toBe(0);
  reference = readFileSync(`${honest}.npz`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exit `code`, one error line matching `line`, no stack, no .npz, no temporary file left. */
function expectRefused(r: { status: number | null; stderr: string }, out: string, code: number, line: RegExp): void {
  expect(r.status, r.stderr).toBe(code);
  expect(errorLines(r.stderr)).toEqual([expect.stringMatching(line)]);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  expect(existsSync(`${out}.npz`)).toBe(false);
  expect(readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
}

describe('a resumed set folder is data, not trust', () => {
  it('case 6: a FIFO named like an image is refused by name at once (no hang)', async () => {
    const out = copyOfHonest('fifo');
    rmSync(path.join(out, '0000_000001.png'));
    execFileSync('mkfifo', [path.join(out, '0000_000001.png')]);
    const t0 = Date.now();
    const r = await run([...SET, '--out', out]);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expectRefused(
      r,
      out,
      3,
      /^nextscale: .*fifo\/0000_000001\.png is a named pipe \(FIFO\), not an image this command stored — remove that file and run the same command again \(it makes that image again\)$/,
    );
  });

  it('case 6: a symlink to /dev/zero and a symlink to a PNG outside the folder are refused by name, in little memory', async () => {
    for (const [name, target] of [
      ['zero', '/dev/zero'],
      ['outside', path.join(honest, '0000_000000.png')],
    ] as const) {
      const out = copyOfHonest(`link-${name}`);
      rmSync(path.join(out, '0007_000001.png'));
      symlinkSync(target, path.join(out, '0007_000001.png'));
      const r = await run([...SET, '--out', out], { rss: true });
      expectRefused(
        r,
        out,
        3,
        new RegExp(
          `^nextscale: .*link-${name}/0007_000001\\.png is a symbolic link, not an image this command stored — remove that file`,
        ),
      );
      expect(r.peakRss!).toBeLessThan(1 << 30);
    }
  });

  it('case 7: a picture replaced by a white, grey or transparent 32×32 PNG is refused (its SHA-256 differs from the manifest)', async () => {
    const grey = new PNG({ width: 32, height: 32 });
    grey.data.fill(128);
    const clear = new PNG({ width: 32, height: 32 });
    clear.data.fill(0);
    for (const [name, png] of [
      ['white', whitePng(32)],
      ['grey', PNG.sync.write(grey)],
      ['transparent', PNG.sync.write(clear)],
    ] as const) {
      const out = copyOfHonest(`replaced-${name}`);
      writeFileSync(path.join(out, '0007_000000.png'), png);
      const r = await run([...SET, '--out', out]);
      expectRefused(
        r,
        out,
        3,
        new RegExp(
          `^nextscale: .*replaced-${name}/0007_000000\\.png is not the image this set stored there \\(its SHA-256 differs from the one in manifest\\.json\\) — remove that file`,
        ),
      );
    }
  });

  it('case 8: a 64×64 first image is the one blamed (also when the manifest has no hash for it yet, as after a kill)', async () => {
    for (const keepHash of [true, false]) {
      const out = copyOfHonest(`big-first-${keepHash}`);
      writeFileSync(path.join(out, '0000_000000.png'), whitePng(64));
      if (!keepHash) {
        const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
        delete m.images[0].sha256;
        writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
      }
      const r = await run([...SET, '--out', out]);
      expectRefused(
        r,
        out,
        3,
        keepHash
          ? /big-first-true\/0000_000000\.png is not the image this set stored there/
          : /big-first-false\/0000_000000\.png is 64×64, the set's images are 32×32 — remove that file/,
      );
      expect(r.stderr).not.toContain('0000_000001.png');
      // Following the advice works: the set is made again, identical.
      rmSync(path.join(out, '0000_000000.png'));
      const again = await run([...SET, '--out', out, '--npz', path.join(dir, `again-${keepHash}.npz`)]);
      expect(again.status, again.stderr).toBe(0);
      expect(readFileSync(path.join(dir, `again-${keepHash}.npz`)).equals(reference)).toBe(true);
    }
  });

  it('case 9: packing interrupted (SIGINT while the .npz is written) leaves no temporary file', async () => {
    const out = copyOfHonest('interrupted');
    const r = startIn(
      [...SET, '--out', out],
      opts({ node: ['--import', path.join(import.meta.dirname, 'slow-npz-preload.mjs')] }),
    );
    await waitFor(r, (s) => s.includes('test: packing stalls'), 'packing to start', 30_000);
    r.child.kill('SIGINT');
    expect(await r.done).toBe(130);
    expect(r.stderr).toMatch(/nextscale: interrupted/);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(existsSync(`${out}.npz`)).toBe(false);
  });

  it("case 10: a folder named like a temporary file is left alone, and so is a user's .notes.txt.tmp-1-ab", async () => {
    const out = copyOfHonest('temp-lookalikes');
    mkdirSync(path.join(out, '.0000_000001.png.tmp-1-abcdef01'));
    writeFileSync(path.join(out, '.notes.txt.tmp-1-ab'), 'my notes');
    writeFileSync(path.join(out, '.manifest.json.tmp-7-0123abcd'), 'a stale temporary file of ours');
    const r = await run([...SET, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(`${out}.npz`).equals(reference)).toBe(true);
    expect(readFileSync(path.join(out, '.notes.txt.tmp-1-ab'), 'utf8')).toBe('my notes');
    expect(existsSync(path.join(out, '.0000_000001.png.tmp-1-abcdef01'))).toBe(true);
    expect(existsSync(path.join(out, '.manifest.json.tmp-7-0123abcd'))).toBe(false);
  });

  it('case 11: an unrelated <folder>.npz is refused without --force (before any work) and replaced with it', async () => {
    const out = path.join(dir, 'taken');
    writeFileSync(`${out}.npz`, "somebody else's archive");
    const r = await run([...SET, '--out', out]);
    expect(r.status, r.stderr).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^nextscale: .*taken\.npz already exists and is not this sample set's \.npz — pass --force to overwrite it, or --npz <another file>$/,
      ),
    ]);
    expect(readFileSync(`${out}.npz`, 'utf8')).toBe("somebody else's archive");
    expect(existsSync(out)).toBe(false);
    const forced = await run([...SET, '--out', out, '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(`${out}.npz`).equals(reference)).toBe(true);
    // The set's own .npz is rewritten by a resume without --force.
    const again = await run([...SET, '--out', out]);
    expect(again.status, again.stderr).toBe(0);
  });

  it('case 12: --per-class 1000000 over ten classes fails at once with the largest that fits, in little memory', async () => {
    const out = path.join(dir, 'huge');
    const t0 = Date.now();
    const r = await run(['sample', '--per-class', '1000000', '--out', out], { rss: true });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.status, r.stderr).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^nextscale: a set of 10,000,000 images \(10 classes × --per-class 1000000\) is more than .* — lower --per-class to at most \d+ or pass fewer --classes/,
      ),
    ]);
    expect(existsSync(out)).toBe(false);
    expect(r.peakRss!).toBeLessThan(1 << 30);
  });

  it('low: an image that is truncated or not a PNG says so in those words (when the manifest holds no hash for it, as after a kill)', async () => {
    for (const [name, bytes, line] of [
      [
        'truncated',
        readFileSync(path.join(honest, '0007_000001.png')).subarray(0, 120),
        /truncated\/0007_000001\.png is not a complete PNG \(truncated or corrupt\) — remove that file/,
      ],
      ['not-png', Buffer.from('GIF89a, not what it says'), /not-png\/0007_000001\.png is not a PNG — remove that file/],
    ] as const) {
      const out = copyOfHonest(name);
      writeFileSync(path.join(out, '0007_000001.png'), bytes);
      const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      delete m.images[3].sha256;
      writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
      const r = await run([...SET, '--out', out]);
      expectRefused(r, out, 3, line);
    }
  });

  it('low: an .npz that cannot be written names --npz in its fix', async () => {
    const file = path.join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const out = copyOfHonest('npz-unwritable');
    const r = await run([...SET, '--out', out, '--npz', path.join(file, 'set.npz')]);
    expect(r.status, r.stderr).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^nextscale: cannot write .*plain-file\/set\.npz \(a path in it is a file, not a folder\) — pass another --npz file$/,
      ),
    ]);
  });
});
