import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backend as cpuBackend } from '@nextscale/backend-cpu';
import {
  createRegistry,
  editMask,
  explicitPolicy,
  loadVAR,
  Tensor,
  type EditBox,
  type EditMode,
  type EditResult,
} from '@nextscale/core';
import { loadStateDict } from '@nextscale/core/weights';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { to8bit } from '../output/image.js';
import { fixture, run, runJson, start } from '../test-support.js';

const MODEL = [
  '--var',
  fixture('var.safetensors'),
  '--vae',
  fixture('vae.safetensors'),
  '--patch-nums',
  '1,2,3,4',
  '--backend',
  'cpu',
];
const GREEDY = ['--top-k', '1', '--top-p', '0', '--seed', '0'];
const INPUT = fixture('edit/input.png');
const CASES = (
  JSON.parse(readFileSync(fixture('edit/cases.json'), 'utf8')) as {
    cases: { name: string; box: number[]; mode: EditMode; label: number; cfg: number }[];
  }
).cases;

async function library(o: {
  box: number[];
  mode: EditMode;
  labels: number[];
  cfg: number;
  topK?: number;
  topP?: number;
  seed?: number;
}): Promise<EditResult> {
  const registry = createRegistry();
  registry.register(cpuBackend);
  const m = await loadVAR({
    var: fixture('var.safetensors'),
    vae: fixture('vae.safetensors'),
    patchNums: [1, 2, 3, 4],
    registry,
    policy: explicitPolicy('cpu'),
  });
  try {
    const png = PNG.sync.read(readFileSync(INPUT));
    const image = new Tensor([1, 3, 16, 16]);
    for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) image.data[c * 256 + p] = png.data[p * 4 + c] / 255;
    return await m.edit({
      image,
      keep: editMask(4, o.box as unknown as EditBox, o.mode),
      labels: o.labels,
      cfg: o.cfg,
      topK: o.topK ?? 1,
      topP: o.topP ?? 0,
      seed: o.seed ?? 0,
    });
  } finally {
    await m.dispose();
  }
}

/** (img·255) truncated, as the reference saves images, for image i as RGB rows. */
function expectedPixels(images: Tensor, i: number): number[] {
  const [, , H, W] = images.shape as [number, number, number, number];
  const out: number[] = [];
  for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) out.push(to8bit(images.data[(i * 3 + c) * H * W + p]));
  return out;
}

function pngTile(file: string, tile: { x: number; y: number; width: number; height: number }): number[] {
  const png = PNG.sync.read(readFileSync(file));
  const out: number[] = [];
  for (let y = tile.y; y < tile.y + tile.height; y++) {
    for (let x = tile.x; x < tile.x + tile.width; x++) {
      const o = (y * png.width + x) * 4;
      out.push(png.data[o], png.data[o + 1], png.data[o + 2]);
    }
  }
  return out;
}

function writeRgbPng(
  file: string,
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number, number?],
): string {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = pixel(x, y);
      png.data.set([r, g, b, a], (y * width + x) * 4);
    }
  }
  writeFileSync(file, PNG.sync.write(png));
  return file;
}

interface EditDoc {
  files: { path: string; kind: string; width: number; height: number }[];
  images: {
    index: number;
    label: number;
    sample: number;
    tile: { x: number; y: number; width: number; height: number };
  }[];
  tokens: { scale: number; tokens: number[]; forced: number[] }[];
  region: { keep: number[]; keptTokens: number; grid: number };
  inputs: { width: number; height: number; resized: boolean; crop: { left: number; top: number; side: number } }[];
  trace: unknown;
}

describe('nextscale edit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-edit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)("$name: the PNG has the library's pixels, and the reference tokens", async (c) => {
    const out = path.join(dir, `${c.name}.png`);
    const args = [
      'edit',
      ...MODEL,
      ...GREEDY,
      '--image',
      INPUT,
      '--box',
      c.box.join(','),
      '--mode',
      c.mode,
      '--cfg',
      String(c.cfg),
      '--out',
      out,
    ];
    const { result, doc } = runJson<EditDoc>([...args, '--class', c.label === 10 ? 'uncond' : String(c.label)]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe(''); // 16×16 is the model's size: no resize note
    const lib = await library({ box: c.box, mode: c.mode, labels: [c.label], cfg: c.cfg });
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([16, 16]);
    expect(pngTile(out, { x: 0, y: 0, width: 16, height: 16 })).toEqual(expectedPixels(lib.images, 0));
    const refs = (await loadStateDict(fixture('edit/refs.safetensors'))).tensors;
    doc.tokens.forEach((t, si) => {
      expect(t.tokens, `scale ${si}`).toEqual(Array.from(refs.get(`${c.name}.idx.s${si}`)!.data));
      expect(t.forced, `scale ${si}`).toEqual(Array.from(refs.get(`${c.name}.force.s${si}`)!.data));
    });
    expect(doc.region.keep).toEqual(Array.from(refs.get(`${c.name}.keep`)!.data));
  });

  it("--batch n makes n edits of the input as a grid, each tile the library's image", async () => {
    const out = path.join(dir, 'batch.png');
    const { result, doc } = runJson<EditDoc>([
      'edit',
      ...MODEL,
      '--image',
      INPUT,
      '--box',
      '0.25,0,1,1',
      '--class',
      '2,5',
      '--batch',
      '2',
      '--cfg',
      '2',
      '--top-k',
      '20',
      '--top-p',
      '0.9',
      '--seed',
      '7',
      '--out',
      out,
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(doc.files[0].kind).toBe('grid');
    expect(doc.images.map((i) => [i.label, i.sample])).toEqual([
      [2, 0],
      [2, 1],
      [5, 0],
      [5, 1],
    ]);
    const lib = await library({
      box: [0.25, 0, 1, 1],
      mode: 'inpaint',
      labels: [2, 2, 5, 5],
      cfg: 2,
      topK: 20,
      topP: 0.9,
      seed: 7,
    });
    doc.images.forEach((img, i) => expect(pngTile(out, img.tile), `tile ${i}`).toEqual(expectedPixels(lib.images, i)));
    const firstRow = pngTile(out, doc.images[0].tile);
    expect(pngTile(out, doc.images[1].tile)).not.toEqual(firstRow); // the seed's stream runs across the batch
  });

  it('a --mask picture means what the equivalent --box means (white = regenerate, black = keep)', () => {
    // A 64×64 mask (any square size): black inside rows/columns 16..48, i.e. keep the box [0.25, 0.75).
    const mask = writeRgbPng(path.join(dir, 'mask.png'), 64, 64, (x, y) =>
      x >= 16 && x < 48 && y >= 16 && y < 48 ? [0, 0, 0] : [255, 255, 255],
    );
    const viaMask = runJson<EditDoc>([
      'edit',
      ...MODEL,
      ...GREEDY,
      '--image',
      INPUT,
      '--mask',
      mask,
      '--class',
      '7',
      '--out',
      path.join(dir, 'm.png'),
    ]);
    const viaBox = runJson<EditDoc>([
      'edit',
      ...MODEL,
      ...GREEDY,
      '--image',
      INPUT,
      '--box',
      '0.25,0.25,0.75,0.75',
      '--mode',
      'outpaint',
      '--class',
      '7',
      '--out',
      path.join(dir, 'b.png'),
    ]);
    expect(viaMask.result.status, viaMask.result.stderr).toBe(0);
    expect(viaMask.doc.region.keep).toEqual(viaBox.doc.region.keep);
    expect(viaMask.doc.region.keptTokens).toBe(4);
    expect(viaMask.doc.tokens).toEqual(viaBox.doc.tokens);
    expect(readFileSync(path.join(dir, 'm.png'))).toEqual(readFileSync(path.join(dir, 'b.png')));
  });

  it('a picture of another size and aspect is centre-cropped and resized (Lanczos-3), and the CLI says so', async () => {
    // 40×24 JPEG: the centred 24×24 square is cut out (left 8) and resized to 16×16.
    const jpeg = path.join(dir, 'wide.jpg');
    await sharp(readFileSync(INPUT)).resize(40, 24, { fit: 'fill' }).jpeg({ quality: 95 }).toFile(jpeg);
    const out = path.join(dir, 'wide.png');
    const { result, doc } = runJson<EditDoc>([
      'edit',
      ...MODEL,
      ...GREEDY,
      '--image',
      jpeg,
      '--box',
      '0.1,0.1,0.8,0.8',
      '--class',
      '3',
      '--out',
      out,
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /note: .*wide\.jpg is 40×24; centre-cropped to 24×24 and resized to 16×16 \(Lanczos-3\)/,
    );
    expect(doc.inputs[0]).toMatchObject({ width: 40, height: 24, resized: true, crop: { left: 8, top: 0, side: 24 } });
    expect(PNG.sync.read(readFileSync(out)).width).toBe(16);
  });

  it("a mask of a non-square picture's own size is cropped as the picture is", async () => {
    // 40×24 picture and mask: the centred 24×24 square is x 8..32. The mask is black (keep) in its top
    // half and white elsewhere, also outside the square (which the crop must drop).
    const jpeg = path.join(dir, 'wide2.jpg');
    await sharp(readFileSync(INPUT)).resize(40, 24, { fit: 'fill' }).jpeg({ quality: 95 }).toFile(jpeg);
    const mask = writeRgbPng(path.join(dir, 'wide-mask.png'), 40, 24, (x, y) =>
      x >= 8 && x < 32 && y < 12 ? [0, 0, 0] : [255, 255, 255],
    );
    const { result, doc } = runJson<EditDoc>([
      'edit',
      ...MODEL,
      ...GREEDY,
      '--image',
      jpeg,
      '--mask',
      mask,
      '--out',
      path.join(dir, 'wm.png'),
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(doc.region.keep).toEqual(Array.from(editMask(4, [0, 0, 0.5, 1], 'outpaint').data));
  });

  it('--compare starts the row with the input and the tinted region; the edit tiles stay exact', async () => {
    const out = path.join(dir, 'compare.png');
    const { result, doc } = runJson<EditDoc>([
      'edit',
      ...MODEL,
      ...GREEDY,
      '--image',
      INPUT,
      '--box',
      '0.1,0.1,0.8,0.8',
      '--class',
      '3',
      '--cfg',
      '1.5',
      '--compare',
      '--out',
      out,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const input = PNG.sync.read(readFileSync(INPUT));
    const inputRgb = Array.from({ length: 256 }, (_, p) => [
      input.data[p * 4],
      input.data[p * 4 + 1],
      input.data[p * 4 + 2],
    ]).flat();
    const edit = doc.images[0].tile;
    expect(pngTile(out, { ...edit, x: edit.x - 2 * (16 + 2) })).toEqual(inputRgb);
    const lib = await library({ box: [0.1, 0.1, 0.8, 0.8], mode: 'inpaint', labels: [3], cfg: 1.5 });
    expect(pngTile(out, edit)).toEqual(expectedPixels(lib.images, 0));
  });

  it('Ctrl-C stops the edit: exit 130 and nothing written', async () => {
    const out = path.join(dir, 'interrupted.png');
    let sent = false;
    const r = await start(
      ['edit', '--image', INPUT, '--box', '0.2,0.2,0.8,0.8', '--batch', '8', '--out', out, '--verbose'],
      {
        onStderr: (text, kill) => {
          if (!sent && /scale 1\/7/.test(text)) {
            sent = true;
            kill('SIGINT');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/nextscale: interrupted — nothing was written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('interrupted'))).toEqual([]);
  });
});

describe('nextscale edit: bad input', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-edit-bad-'));
    const png = readFileSync(INPUT);
    const put = (name: string, bytes: Uint8Array | string) => {
      writeFileSync(path.join(dir, name), bytes);
      files[name] = path.join(dir, name);
    };
    put('empty.png', '');
    put('text.png', 'hello, this is not a picture\n');
    put('picture.gif', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'));
    put('truncated.png', png.subarray(0, Math.floor(png.length / 2)));
    put('truncated.jpg', (await sharp(png).jpeg().toBuffer()).subarray(0, 300));
    put('other-size.png', await sharp(png).resize(20, 20).png().toBuffer());
    files['colour-mask.png'] = writeRgbPng(path.join(dir, 'colour-mask.png'), 16, 16, (x) =>
      x < 8 ? [255, 0, 0] : [0, 0, 0],
    );
    files['alpha-mask.png'] = writeRgbPng(path.join(dir, 'alpha-mask.png'), 16, 16, (x) => [
      255,
      255,
      255,
      x < 8 ? 0 : 255,
    ]);
    files['wide-mask.png'] = writeRgbPng(path.join(dir, 'wide-mask.png'), 32, 16, () => [255, 255, 255]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const box = ['--box', '0.25,0.25,0.75,0.75'];
  const cases: [string, number, () => string[], RegExp][] = [
    [
      'a file that is not a picture',
      3,
      () => ['--image', files['text.png'], ...box],
      /text\.png is not a PNG or JPEG file — convert it to PNG or JPEG/,
    ],
    ['a GIF', 3, () => ['--image', files['picture.gif'], ...box], /is not a PNG or JPEG file \(it is a GIF\)/],
    [
      'an empty file',
      3,
      () => ['--image', files['empty.png'], ...box],
      /empty\.png is empty — pass a PNG or JPEG file/,
    ],
    [
      'a truncated PNG',
      3,
      () => ['--image', files['truncated.png'], ...box],
      /truncated\.png .*(truncated or corrupt|not a readable PNG)/,
    ],
    [
      'a truncated JPEG',
      3,
      () => ['--image', files['truncated.jpg'], ...box],
      /truncated\.jpg .*(truncated or corrupt|not a readable JPEG)/,
    ],
    [
      'a missing file',
      2,
      () => ['--image', path.join(dir, 'nope.png'), ...box],
      /nope\.png does not exist — check the path/,
    ],
    ['no --image', 2, () => [...box], /no --image given/],
    ['a box outside [0, 1]', 2, () => ['--image', INPUT, '--box', '0,0,1.5,1'], /box y1 = 1\.5 is outside \[0, 1\]/],
    ['an empty box', 2, () => ['--image', INPUT, '--box', '0.5,0,0.5,1'], /is empty: it needs y1 > y0 and x1 > x0/],
    [
      'a box of three numbers',
      2,
      () => ['--image', INPUT, '--box', '0,0,1'],
      /is not four numbers — pass --box y0,x0,y1,x1/,
    ],
    [
      'a box smaller than a token',
      2,
      () => ['--image', INPUT, '--box', '0.5,0.5,0.6,0.6'],
      /covers no cell of the 4×4 token grid/,
    ],
    [
      'a bad --mode',
      2,
      () => ['--image', INPUT, ...box, '--mode', 'sideways'],
      /--mode "sideways" is not a mode — pass --mode inpaint or --mode outpaint/,
    ],
    ['no region', 2, () => ['--image', INPUT], /no region to edit — pass --box/],
    [
      '--box and --mask',
      2,
      () => ['--image', INPUT, ...box, '--mask', files['wide-mask.png']],
      /--box and --mask were both given/,
    ],
    [
      'a coloured mask',
      3,
      () => ['--image', INPUT, '--mask', files['colour-mask.png']],
      /has coloured pixels .* — draw the mask in black \(keep\) and white \(regenerate\) only/,
    ],
    ['a transparent mask', 3, () => ['--image', INPUT, '--mask', files['alpha-mask.png']], /has transparent pixels/],
    [
      'a mask of another aspect',
      3,
      () => ['--image', INPUT, '--mask', files['wide-mask.png']],
      /wide-mask\.png is 32×16 but .*input\.png is 16×16 — draw the mask at the image's size/,
    ],
    [
      'a mask that is not a picture',
      3,
      () => ['--image', INPUT, '--mask', files['text.png']],
      /--mask .*text\.png is not a PNG or JPEG file/,
    ],
    [
      'images of different sizes',
      3,
      () => ['--image', INPUT, '--image', files['other-size.png'], ...box],
      /the images differ in size: .*16×16, .*20×20/,
    ],
    ['an unknown class', 2, () => ['--image', INPUT, ...box, '--class', '12'], /class 12 is out of range/],
  ];
  it.each(cases)('%s: exit %i, one line, nothing written', (_, code, args, message) => {
    const out = path.join(dir, 'out.png');
    const r = run(['edit', ...MODEL, ...args(), '--out', out]);
    expect(r.status, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.out.png'))).toEqual([]);
  });
});
