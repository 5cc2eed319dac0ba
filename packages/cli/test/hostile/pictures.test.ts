/**
 * Pictures given to `edit` as someone hostile would give them (issue 26, cases 13–14): named pipes and
 * devices as --image or --mask, and decompression bombs (a few hundred kB of PNG or a JPEG header that
 * decode to gigabytes). Each is one line, exit 3, within seconds and in well under 1 GB; a picture at the
 * size cap still works in that memory. Plus: commands that touch no picture do not load sharp.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, errorLines, start, type StartOptions } from '../support/processes.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-hostile-pictures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BOX = ['--box', '0.25,0.25,0.75,0.75'];

async function run(args: string[], o: Partial<StartOptions> = {}, ms = 60_000) {
  // edit needs a region: a box unless a mask is given.
  if (args[0] === 'edit' && !args.includes('--mask')) args = [...args, ...BOX];
  const r = start(args, { cwd: dir, rss: true, killAboveRss: 2 ** 31, ...o });
  const t = setTimeout(() => r.child.kill('SIGKILL'), ms);
  const status = await r.done;
  clearTimeout(t);
  return { status, stdout: r.stdout, stderr: r.stderr, peakRss: r.peakRss };
}

function crc32(bytes: Buffer): number {
  let c = ~0 >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}
const chunk = (type: string, data: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};

/** A valid greyscale PNG of width × height, all black, at 1 bit per pixel: tiny on disk, huge decoded. */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, filter 0, no interlace
  const raw = Buffer.alloc(height * (1 + Math.ceil(width / 8))); // filter byte 0 and zero pixels per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The start of a baseline JPEG whose frame header claims width × height (the scan never comes). */
function bombJpegHeader(width: number, height: number): Buffer {
  const app0 = Buffer.from([
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  ]);
  const sof = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    0x03,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
}

const small = path.join(dir, 'small.png');
{
  const png = new PNG({ width: 32, height: 32 });
  png.data.fill(200);
  writeFileSync(small, PNG.sync.write(png));
}
const white = path.join(dir, 'white-mask.png');
{
  const png = new PNG({ width: 32, height: 32 });
  png.data.fill(255);
  writeFileSync(white, PNG.sync.write(png));
}

function expectDataError(r: { status: number | null; stderr: string; peakRss?: number }, line: RegExp): void {
  expect(r.status, r.stderr).toBe(3);
  expect(errorLines(r.stderr)).toEqual([expect.stringMatching(line)]);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  expect(r.peakRss!, 'peak RSS').toBeLessThan(1 << 30);
}

describe('pictures given to edit', () => {
  it('case 13: a FIFO as --image or --mask, and /dev/zero as --image, are refused before opening (no hang)', async () => {
    const fifo = path.join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    for (const [args, line] of [
      [
        ['--image', fifo],
        /^nextscale: --image .*pipe\.png is a named pipe \(FIFO\), not a picture file — pass a PNG or JPEG file$/,
      ],
      [
        ['--image', small, '--mask', fifo],
        /^nextscale: --mask .*pipe\.png is a named pipe \(FIFO\), not a picture file — pass a PNG or JPEG file$/,
      ],
      [
        ['--image', '/dev/zero'],
        /^nextscale: --image \/dev\/zero is a device, not a picture file — pass a PNG or JPEG file$/,
      ],
    ] as const) {
      const t0 = Date.now();
      const r = await run(['edit', ...args, '--out', path.join(dir, 'out.png')], {}, 20_000);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expectDataError(r, line);
    }
  });

  it('case 14: decompression bombs (16000×16000 PNG as image and as mask, four at once, a 60000×60000 JPEG header) are refused from the header, in little memory; a picture at the cap works in well under 1 GB', async () => {
    const bomb = path.join(dir, 'bomb.png');
    writeFileSync(bomb, bombPng(16000, 16000));
    const jpeg = path.join(dir, 'bomb.jpg');
    writeFileSync(jpeg, bombJpegHeader(60000, 60000));
    const cases: [string[], RegExp][] = [
      [
        ['--image', bomb],
        /^nextscale: --image .*bomb\.png is 16000×16000 \(256\.0 megapixels\), more than the 16\.8 megapixels a picture may have here — shrink it first/,
      ],
      [['--image', small, '--mask', bomb], /^nextscale: --mask .*bomb\.png is 16000×16000/],
      [
        ['--image', bomb, '--image', bomb, '--image', bomb, '--image', bomb],
        /^nextscale: --image .*bomb\.png is 16000×16000/,
      ],
      [['--image', jpeg], /^nextscale: --image .*bomb\.jpg is 60000×60000 \(3600\.0 megapixels\)/],
    ];
    for (const [args, line] of cases) {
      const r = await run(['edit', ...args, '--out', path.join(dir, 'out.png')]);
      console.log(
        `edit ${args.map((a) => path.basename(a)).join(' ')}: peak RSS ${(r.peakRss! / 2 ** 20).toFixed(0)} MiB`,
      );
      expectDataError(r, line);
    }
    // The cap is usable: a picture at it (4096×4096), as image and mask, is edited in well under 1 GB.
    const big = path.join(dir, 'at-cap.png');
    writeFileSync(big, bombPng(4096, 4096));
    const r = await run(['edit', '--image', big, '--mask', big, '--out', path.join(dir, 'at-cap-out.png')]);
    console.log(`edit of a 4096×4096 picture and mask: peak RSS ${(r.peakRss! / 2 ** 20).toFixed(0)} MiB`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.peakRss!).toBeLessThan(1 << 30);
  });

  it('low: commands that touch no picture do not load sharp', () => {
    const script = `
      import { createRequire } from 'node:module';
      const { main } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const code = await main(['backends', '--json'], { cwd: process.cwd(), env: process.env });
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\\\/]sharp[\\\\/]/.test(k));
      process.stderr.write('sharp modules loaded: ' + loaded.length + '\\n');
      process.exit(code === 0 && loaded.length === 0 ? 0 : 5);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // The probe can see sharp when it is loaded: edit loads it.
    const e = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        script.replace(
          "['backends', '--json']",
          `['edit', '--image', ${JSON.stringify(small)}, ...${JSON.stringify(BOX)}, '--out', ${JSON.stringify(path.join(dir, 'probe.png'))}]`,
        ),
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(e.stderr).toMatch(/sharp modules loaded: [1-9]/);
  });
});
