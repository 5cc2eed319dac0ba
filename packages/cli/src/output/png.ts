/** 8-bit RGB PNG encoding (pngjs), written atomically. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { RgbImage } from './image.js';

export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

export async function writePng(
  target: string,
  img: RgbImage,
  signal?: AbortSignal,
): Promise<{ path: string; bytes: number }> {
  const dir = path.dirname(target);
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new CliError(
      'E_USAGE',
      `cannot create the output folder ${dir} (${(err as Error).message})`,
      'pass another --out path',
    );
  }
  const bytes = encodePng(img);
  try {
    await writeFileAtomic(target, bytes, signal);
  } catch (err) {
    if ((err as { code?: string }).code === 'E_ABORTED') throw err;
    throw new CliError('E_USAGE', `cannot write ${target} (${(err as Error).message})`, 'pass another --out path');
  }
  return { path: target, bytes: bytes.byteLength };
}
