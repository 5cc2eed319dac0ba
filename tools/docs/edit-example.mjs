#!/usr/bin/env node
/**
 * The README's editing pictures, made with the shipped Fashion-MNIST model on real Fashion-MNIST test
 * images (Debian's dataset-fashion-mnist, t10k split, MIT licence):
 *
 *   apt-get install dataset-fashion-mnist && node tools/docs/edit-example.mjs
 *
 * 1. writes the chosen test images as 32×32 PNGs, zero-padded by 2 pixels as the model was trained
 *    (tools/train/varlib.py: to_model_images), to packages/cli/assets/docs/;
 * 2. runs `nextscale edit --compare` on them (an in-painting and a class-conditional edit), writing
 *    the before/after grids beside them. The commands are printed; nothing is picked by hand but the
 *    images, boxes and classes below.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(REPO, 'packages', 'cli');
const { PNG } = createRequire(path.join(CLI, 'package.json'))('pngjs');
const DATA = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const OUT = path.join(CLI, 'assets', 'docs');

/** t10k test images by index: [index, file stem]. */
export const TEST_IMAGES = [
  [19, 'tshirt-t10k-19'],
  [9, 'sneaker-t10k-9'],
];

/** The edits: input, flags. Default sampling of the model (its metadata), seeds fixed. */
const EDITS = [
  [
    'tshirt-t10k-19',
    'inpaint-tshirt',
    ['--box', '0.3,0.25,0.75,0.75', '--class', 'T-shirt/top', '--batch', '4', '--seed', '1'],
  ],
  [
    'sneaker-t10k-9',
    'classedit-sneaker-to-ankle-boot',
    ['--box', '0,0,0.6,1', '--class', 'Ankle boot,Sandal', '--batch', '4', '--seed', '1'],
  ],
];

function testImages() {
  const buf = gunzipSync(readFileSync(path.join(DATA, 't10k-images-idx3-ubyte.gz')));
  const [magic, n, h, w] = [0, 4, 8, 12].map((o) => buf.readUInt32BE(o));
  if (magic !== 2051) throw new Error('not an idx3 image file');
  return { n, h, w, pixels: buf.subarray(16) };
}

mkdirSync(OUT, { recursive: true });
const { h, w, pixels } = testImages();
for (const [index, stem] of TEST_IMAGES) {
  const png = new PNG({ width: w + 4, height: h + 4 });
  png.data.fill(0);
  for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x++) png.data[(y * png.width + x) * 4 + 3] = 255;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = pixels[index * h * w + y * w + x];
      const o = ((y + 2) * png.width + x + 2) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
    }
  }
  writeFileSync(path.join(OUT, `${stem}.png`), PNG.sync.write(png, { colorType: 0 }));
}
for (const [input, out, flags] of EDITS) {
  const args = [
    'edit',
    '--image',
    path.join(OUT, `${input}.png`),
    ...flags,
    '--compare',
    '--zoom',
    '3',
    '--out',
    path.join(OUT, `${out}.png`),
  ];
  console.log(
    `nextscale ${args.map((a) => (path.relative(REPO, a).startsWith('..') ? a : path.relative(REPO, a))).join(' ')}`,
  );
  execFileSync(process.execPath, [path.join(CLI, 'bin', 'nextscale.js'), ...args], { stdio: 'inherit' });
}
