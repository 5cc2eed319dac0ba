/** PNG decoding for the tests (pngjs) and the CLI run the page is compared with. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { appDir, repoDir } from './harness.js';

export interface Rgb {
  width: number;
  height: number;
  /** 3 bytes per pixel */
  rgb: Uint8Array;
}

export function decodePng(bytes: Buffer): Rgb {
  const png = PNG.sync.read(bytes);
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = png.data[i * 4 + c];
  return { width: png.width, height: png.height, rgb };
}

export function decodeDataUrl(url: string): Rgb {
  const m = /^data:image\/png;base64,(.*)$/.exec(url);
  if (!m) throw new Error(`not a PNG data URL: ${url.slice(0, 40)}`);
  return decodePng(Buffer.from(m[1], 'base64'));
}

/**
 * `nextscale generate` (or `edit`) with the shipped model, one image at zoom 1, on the WebAssembly kernels the page runs
 * (NEXTSCALE_ENGINE=wasm), or with `engine` another of the CLI's engines (onnx: onnxruntime-node, for the page's
 * onnxruntime-web).
 */
export function cliImage(args: string[], command = 'generate', engine = 'wasm'): Rgb {
  const dir = mkdtempSync(path.join(tmpdir(), 'nextscale-web-'));
  try {
    const out = path.join(dir, 'cli.png');
    execFileSync(
      process.execPath,
      [path.join(repoDir, 'packages/cli/bin/nextscale.js'), command, ...args, '--out', out],
      {
        // the CLI finds engine packages installed in its working directory's project: the app's (engine-onnx among them)
        cwd: engine === 'wasm' ? dir : appDir,
        env: { ...process.env, NEXTSCALE_ENGINE: engine },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    return decodePng(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pixels that differ between two images of the same size. */
export function differingPixels(a: Rgb, b: Rgb): number {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let n = 0;
  for (let i = 0; i < a.width * a.height; i++)
    if (a.rgb[i * 3] !== b.rgb[i * 3] || a.rgb[i * 3 + 1] !== b.rgb[i * 3 + 1] || a.rgb[i * 3 + 2] !== b.rgb[i * 3 + 2])
      n++;
  return n;
}

/** The largest difference of one colour channel between two images of the same size (0…255). */
export function maxChannelDifference(a: Rgb, b: Rgb): number {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let m = 0;
  for (let i = 0; i < a.rgb.length; i++) m = Math.max(m, Math.abs(a.rgb[i] - b.rgb[i]));
  return m;
}
