/**
 * The output folder of a sample set: which images are on disk, storing one (atomically, once), and
 * packing the finished set into the `.npz`.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { writeError } from './manifest.js';
import { writeNpzUint8 } from './npz.js';
import { parseImageFile, type PlannedImage } from './plan.js';

export class SampleFolder {
  readonly done = new Set<string>();
  /** Results that arrived for an image already stored (a retried job that had in fact finished). */
  duplicates = 0;

  constructor(readonly dir: string) {}

  /** Creates the folder; one that cannot be written is a one-line usage error. */
  async ensureWritable(): Promise<void> {
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      await fsp.access(this.dir, constants.W_OK);
    } catch (err) {
      throw writeError(this.dir, err);
    }
  }

  /** Removes temporary files a killed run left, and notes the finished images. */
  async open(plan: readonly PlannedImage[]): Promise<void> {
    await this.ensureWritable();
    const wanted = new Set(plan.map((p) => p.file));
    for (const name of await fsp.readdir(this.dir)) {
      if (/^\..*\.tmp-\d+-[0-9a-f]+$/.test(name)) {
        await fsp.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      if (parseImageFile(name) && wanted.has(name)) this.done.add(name);
    }
  }

  /** Unknown sample-like files: a folder holding images that are not part of this set. */
  static async strayImages(dir: string): Promise<string[]> {
    try {
      return (await fsp.readdir(dir)).filter((n) => n.toLowerCase().endsWith('.png'));
    } catch {
      return [];
    }
  }

  /** Stores one image's PNG unless it is already there; returns whether it was new. */
  async store(file: string, png: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    if (this.done.has(file)) {
      this.duplicates++;
      return false;
    }
    const target = path.join(this.dir, file);
    try {
      await writeFileAtomic(target, png, signal);
    } catch (err) {
      throw writeError(target, err);
    }
    this.done.add(file);
    return true;
  }

  /**
   * Writes the `.npz` from the PNGs on disk, rows in plan order (class-major, then index), as
   * `create_npz_from_sample_folder` stacks them: uint8 (N, H, W, 3).
   */
  async writeNpz(target: string, plan: readonly PlannedImage[], signal?: AbortSignal): Promise<{ path: string; bytes: number; shape: number[] }> {
    const first = await this.readPixels(plan[0]!);
    const { width, height } = first;
    const shape = [plan.length, height, width, 3];
    const self = this;
    async function* rows(): AsyncGenerator<Uint8Array> {
      const perChunk = Math.max(1, Math.floor((8 << 20) / (width * height * 3)));
      for (let i = 0; i < plan.length; i += perChunk) {
        const part = plan.slice(i, i + perChunk);
        const buf = new Uint8Array(part.length * width * height * 3);
        for (let j = 0; j < part.length; j++) {
          const img = i + j === 0 ? first : await self.readPixels(part[j]!);
          if (img.width !== width || img.height !== height) {
            throw new CliError('E_USAGE', `${part[j]!.file} is ${img.width}×${img.height}, the set's images are ${width}×${height}`, 'remove that file and run the same command again');
          }
          buf.set(img.data, j * width * height * 3);
        }
        yield buf;
      }
    }
    try {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const r = await writeNpzUint8(target, shape, rows(), { signal });
      return { ...r, shape };
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw writeError(target, err);
    }
  }

  private async readPixels(p: PlannedImage): Promise<{ width: number; height: number; data: Uint8Array }> {
    const file = path.join(this.dir, p.file);
    let png: PNG;
    try {
      png = PNG.sync.read(await fsp.readFile(file));
    } catch (err) {
      throw new CliError('E_USAGE', `cannot read ${file} (${(err as Error).message})`, 'remove that file and run the same command again');
    }
    // pngjs gives RGBA; the set stores RGB.
    const rgb = new Uint8Array(png.width * png.height * 3);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgb[i] = png.data[j]!;
      rgb[i + 1] = png.data[j + 1]!;
      rgb[i + 2] = png.data[j + 2]!;
    }
    return { width: png.width, height: png.height, data: rgb };
  }
}
