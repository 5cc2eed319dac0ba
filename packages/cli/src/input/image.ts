/**
 * Reading pictures for `nextscale edit`: PNG and JPEG files decoded with sharp (libvips), brought to
 * the model's resolution (centre crop to a square, then a Lanczos-3 resize only when the size differs),
 * and edit masks (black = keep, white = regenerate) brought to the same crop.
 *
 * Every problem with a file's content is an input-data error (exit 3) with one line that says what to
 * do; a path that does not exist is a usage error (exit 2). Nothing here writes anything.
 */
import type { Sharp } from 'sharp';
import { Tensor } from '@nextscale/core';
import { CliError, usageError } from '../errors.js';
import { NotReadableError, readRegularFile } from '../util/regular-file.js';
import { jpegSize, pngHeader } from './dimensions.js';

/**
 * The largest picture read, in pixels (4096 × 4096: a 12-megapixel photo fits). A model uses 256 × 256
 * at most; the cap keeps a decompression bomb (a 250 kB PNG of 16000 × 16000) from costing gigabytes,
 * and a picture at the cap from costing more than a few hundred MB. Checked from the header before
 * decoding, and given to libvips as its own limit too.
 */
export const MAX_INPUT_PIXELS = 4096 * 4096;
/** The largest picture file read (compressed bytes). */
export const MAX_INPUT_BYTES = 100 << 20;

/** sharp (libvips, ~0.3 s to load) is imported only by the commands that read pictures. */
async function sharpOf(input: Buffer, o: { failOn?: 'truncated' } = {}): Promise<Sharp> {
  const sharp = (await import('sharp')).default;
  return sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, ...o });
}

/** Exit 3 is the CLI's code for bad weights and bad input data alike (errors.ts). */
export const inputDataError = (problem: string, fix: string) => new CliError('E_DATA', problem, fix);

/** What `--help` and the notes say about the resampling. */
export const RESIZE_FILTER = 'Lanczos-3';

export type ImageFormat = 'png' | 'jpeg';

export interface SourceImage {
  file: string;
  format: ImageFormat;
  /** After EXIF orientation. */
  width: number;
  height: number;
  bytes: Buffer;
}

/** The centred square that `toModelImage` and `maskToKeep` cut out of a width × height picture. */
export interface Crop {
  left: number;
  top: number;
  side: number;
}

export function centreCrop(width: number, height: number): Crop {
  const side = Math.min(width, height);
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), side };
}

/** The format from the file's first bytes (not its name). */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

function looksLike(bytes: Uint8Array): string {
  const ascii = Buffer.from(bytes.subarray(0, 12)).toString('latin1');
  if (ascii.startsWith('GIF8')) return ' (it is a GIF)';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return ' (it is a WebP)';
  if (ascii.startsWith('BM')) return ' (it looks like a BMP)';
  if (ascii.startsWith('II*') || ascii.startsWith('MM\0*')) return ' (it is a TIFF)';
  if (/^\s*</.test(ascii)) return ' (it looks like SVG or HTML)';
  return '';
}

/** Reads and checks a PNG or JPEG file; `what` names it in messages ('--image', '--mask'). */
export async function readImageFile(file: string, what: string): Promise<SourceImage> {
  let bytes: Buffer;
  try {
    // A pipe or a device is refused before it is opened (a FIFO would block forever, /dev/zero never ends).
    bytes = await readRegularFile(file, { maxBytes: MAX_INPUT_BYTES });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw usageError(`${what} ${file} does not exist`, 'check the path');
    if (err instanceof NotReadableError) {
      if (err.what === 'a folder') throw usageError(`${what} ${file} is a folder`, 'pass a PNG or JPEG file');
      throw inputDataError(
        `${what} ${file} is ${err.what}${err.tooLarge ? '' : ', not a picture file'}`,
        'pass a PNG or JPEG file',
      );
    }
    throw inputDataError(
      `cannot read ${what} ${file} (${(err as Error).message})`,
      'check the file and its permissions',
    );
  }
  if (bytes.length === 0) throw inputDataError(`${what} ${file} is empty`, 'pass a PNG or JPEG file');
  const format = sniffFormat(bytes);
  if (!format)
    throw inputDataError(`${what} ${file} is not a PNG or JPEG file${looksLike(bytes)}`, 'convert it to PNG or JPEG');
  // The size from the header, before anything decodes: a decompression bomb stops here.
  const header = format === 'png' ? pngHeader(bytes) : jpegSize(bytes);
  if (typeof header === 'string')
    throw inputDataError(
      `${what} ${file} is ${header === 'not a PNG' ? 'not a readable PNG' : `not a complete PNG (${header})`}`,
      'pass an intact PNG or JPEG file (re-save it)',
    );
  if (header && header.width * header.height > MAX_INPUT_PIXELS)
    throw tooManyPixels(what, file, header.width, header.height);
  let width: number | undefined;
  let height: number | undefined;
  try {
    const m = await (await sharpOf(bytes)).metadata();
    const turned = (m.orientation ?? 1) >= 5; // EXIF orientations 5–8 swap the sides
    width = turned ? m.height : m.width;
    height = turned ? m.width : m.height;
  } catch (err) {
    throw inputDataError(
      `${what} ${file} is not a readable ${format.toUpperCase()} (${oneLine(err)})`,
      'pass an intact PNG or JPEG file (re-save it)',
    );
  }
  if (!width || !height)
    throw inputDataError(`${what} ${file} has no pixels`, 'pass a PNG or JPEG file with an image in it');
  if (width * height > MAX_INPUT_PIXELS) throw tooManyPixels(what, file, width, height);
  const img: SourceImage = { file, format, width, height, bytes };
  await decode(img, what, (s) => s); // a truncated file fails here, before any model is loaded
  return img;
}

function tooManyPixels(what: string, file: string, width: number, height: number): CliError {
  const mp = (n: number) => `${(n / 1e6).toFixed(1)} megapixels`;
  return inputDataError(
    `${what} ${file} is ${width}×${height} (${mp(width * height)}), more than the ${mp(MAX_INPUT_PIXELS)} a picture may have here`,
    'shrink it first (the model works at 256×256 at most)',
  );
}

/** Fully decoded pixels, 8-bit, `channels` per pixel; truncated or corrupt data is an error here. */
async function decode(img: SourceImage, what: string, pipeline: (s: Sharp) => Sharp) {
  try {
    const { data, info } = await pipeline((await sharpOf(img.bytes, { failOn: 'truncated' })).rotate())
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    throw inputDataError(
      `${what} ${img.file} cannot be decoded: it is truncated or corrupt (${oneLine(err)})`,
      'pass an intact PNG or JPEG file (re-save it)',
    );
  }
}

export interface ModelImage {
  /** (1, 3, side, side), values v/255 in float32 (torchvision's ToTensor). */
  tensor: Tensor;
  crop: Crop;
  /** Whether the pixels were resampled (false: the input was already side × side). */
  resized: boolean;
  /** What was done, for the user, or undefined when nothing was. */
  note?: string;
}

/**
 * An image as the model takes it: transparency flattened onto black, the centred square cut out of a
 * non-square picture, and a Lanczos-3 resize to side × side when its size differs. A picture that is
 * already side × side keeps its exact pixels.
 */
export async function toModelImage(img: SourceImage, side: number, what = '--image'): Promise<ModelImage> {
  const crop = centreCrop(img.width, img.height);
  const cropped = crop.side !== img.width || crop.side !== img.height;
  const resized = crop.side !== side;
  const px = await decode(img, what, (s) => {
    let p = s.flatten({ background: { r: 0, g: 0, b: 0 } });
    if (cropped) p = p.extract({ left: crop.left, top: crop.top, width: crop.side, height: crop.side });
    if (resized) p = p.resize(side, side, { kernel: 'lanczos3', fit: 'fill' });
    return p.removeAlpha();
  });
  if (px.width !== side || px.height !== side || px.channels !== 3) {
    throw new CliError(
      'E_INTERNAL',
      `decoded ${img.file} to ${px.width}×${px.height}×${px.channels}, expected ${side}×${side}×3`,
    );
  }
  const plane = side * side;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) data[c * plane + i] = px.data[i * 3 + c] / 255;
  const steps = [
    cropped ? `centre-cropped to ${crop.side}×${crop.side}` : '',
    resized ? `resized to ${side}×${side} (${RESIZE_FILTER})` : '',
  ].filter(Boolean);
  const note = steps.length
    ? `${img.file} is ${img.width}×${img.height}; ${steps.join(' and ')} for this model`
    : undefined;
  return { tensor: new Tensor([1, 3, side, side], data), crop, resized, note };
}

/** Largest channel spread that still counts as grey (JPEG masks carry a little chroma noise). */
const GREY_TOLERANCE = 24;

/**
 * A mask picture as a keep map (h, w) in [0, 1]: black = 1 (keep the input), white = 0 (regenerate),
 * grey in between. A mask of the input's own size is cropped as the input is; otherwise it must be
 * square. Colour and transparency are errors (a mask is black and white).
 */
export async function maskToKeep(
  mask: SourceImage,
  image: { width: number; height: number; file: string },
): Promise<Tensor> {
  const sameSize = mask.width === image.width && mask.height === image.height;
  if (!sameSize && mask.width !== mask.height) {
    throw inputDataError(
      `--mask ${mask.file} is ${mask.width}×${mask.height} but ${image.file} is ${image.width}×${image.height}`,
      `draw the mask at the image's size (${image.width}×${image.height}) or as a square`,
    );
  }
  const crop = sameSize ? centreCrop(mask.width, mask.height) : { left: 0, top: 0, side: mask.width };
  const px = await decode(mask, '--mask', (s) => {
    const p = s.ensureAlpha();
    return crop.side !== mask.width || crop.side !== mask.height
      ? p.extract({ left: crop.left, top: crop.top, width: crop.side, height: crop.side })
      : p;
  });
  const n = px.width * px.height;
  const keep = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [r, g, b, a] = [px.data[i * 4], px.data[i * 4 + 1], px.data[i * 4 + 2], px.data[i * 4 + 3]];
    const at = () => `at x=${(i % px.width) + crop.left}, y=${Math.floor(i / px.width) + crop.top}`;
    if (a !== 255) {
      throw inputDataError(
        `--mask ${mask.file} has transparent pixels (alpha ${a} ${at()})`,
        'save the mask opaque: black = keep, white = regenerate',
      );
    }
    if (Math.max(r, g, b) - Math.min(r, g, b) > GREY_TOLERANCE) {
      throw inputDataError(
        `--mask ${mask.file} has coloured pixels (rgb(${r}, ${g}, ${b}) ${at()})`,
        'draw the mask in black (keep) and white (regenerate) only',
      );
    }
    keep[i] = 1 - (r + g + b) / (3 * 255);
  }
  return new Tensor([px.height, px.width], keep);
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
}
