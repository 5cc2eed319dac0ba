/**
 * The output folder of a sample set: which images are on disk, storing one (atomically, once), and
 * packing the finished set into the `.npz`.
 */
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CliError } from '../errors.js';
import { pngHeader } from '../input/dimensions.js';
import { writeError, writeFileAtomic } from '../util/atomic.js';
import { kindOf, NotReadableError, readRegularFile } from '../util/regular-file.js';
import { MANIFEST_FILE } from './manifest.js';
import { writeNpzUint8 } from './npz.js';
import { parseImageFile, type PlannedImage } from './plan.js';
import { pngCap } from './results.js';

/** The fix for an image in the folder that is not the one this set stored there. */
const REMAKE = 'remove that file and run the same command again (it makes that image again)';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export class SampleFolder {
  readonly done = new Set<string>();
  /** SHA-256 of each stored image's PNG, as the manifest records it: what packing checks. */
  readonly hashes = new Map<string, string>();
  /** Results that arrived for an image already stored (a retried job that had in fact finished). */
  duplicates = 0;

  /** `side`: the model's image size; every image must be a side × side PNG. */
  constructor(
    readonly dir: string,
    readonly side: number,
  ) {}

  /** Creates the folder; one that cannot be written is a one-line usage error. */
  async ensureWritable(): Promise<void> {
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      await fsp.access(this.dir, constants.W_OK);
    } catch (err) {
      throw writeError(this.dir, err);
    }
  }

  /**
   * Notes the finished images, with their SHA-256 from the manifest (`recorded`), or from the file when
   * a killed run stored it before the manifest caught up; removes the temporary files a killed run left.
   * The folder is data, not trust: an image that is a link, a pipe or a device is refused by name.
   */
  async open(plan: readonly PlannedImage[], recorded: ReadonlyMap<string, string>): Promise<void> {
    await this.ensureWritable();
    const wanted = new Set(plan.map((p) => p.file));
    for (const name of await fsp.readdir(this.dir)) {
      const file = path.join(this.dir, name);
      // Only this command's own temporary files (`.<image or manifest>.tmp-<pid>-<hex>`), and only
      // regular files: a user's `.notes.txt.tmp-1-ab` or a folder named like one is left alone.
      const temp = /^\.(.+)\.tmp-\d+-[0-9a-f]{8}$/.exec(name);
      if (temp && (wanted.has(temp[1]) || temp[1] === MANIFEST_FILE)) {
        if ((await fsp.lstat(file)).isFile()) await fsp.rm(file, { force: true });
        continue;
      }
      if (!parseImageFile(name) || !wanted.has(name)) continue;
      const st = await fsp.lstat(file);
      if (!st.isFile())
        throw new CliError('E_DATA', `${file} is ${kindOf(st)}, not an image this command stored`, REMAKE);
      this.done.add(name);
      this.hashes.set(name, recorded.get(name) ?? sha256(await this.readImage(name)));
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
    this.hashes.set(file, sha256(png));
    return true;
  }

  /**
   * Writes the `.npz` from the PNGs on disk, rows in plan order (class-major, then index), as
   * `create_npz_from_sample_folder` stacks them: uint8 (N, H, W, 3). Each image is checked first
   * against what was stored (its SHA-256) and the model's size; an error names that image.
   */
  async writeNpz(
    target: string,
    plan: readonly PlannedImage[],
    signal?: AbortSignal,
  ): Promise<{ path: string; bytes: number; shape: number[] }> {
    const side = this.side;
    const shape = [plan.length, side, side, 3];
    const self = this;
    async function* rows(): AsyncGenerator<Uint8Array> {
      const perChunk = Math.max(1, Math.floor((8 << 20) / (side * side * 3)));
      for (let i = 0; i < plan.length; i += perChunk) {
        const part = plan.slice(i, i + perChunk);
        const buf = new Uint8Array(part.length * side * side * 3);
        for (let j = 0; j < part.length; j++) buf.set(await self.readPixels(part[j]), j * side * side * 3);
        yield buf;
      }
    }
    try {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const r = await writeNpzUint8(target, shape, rows(), { signal });
      return { ...r, shape };
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw writeError(target, err, 'pass another --npz file');
    }
  }

  /** An image's bytes: a regular file (not a link, pipe or device) no larger than a PNG of the model's size can be. */
  private async readImage(name: string): Promise<Buffer> {
    const file = path.join(this.dir, name);
    try {
      return await readRegularFile(file, { maxBytes: pngCap(this.side), refuseLinks: true });
    } catch (err) {
      if (err instanceof NotReadableError) {
        const what = err.tooLarge
          ? `${err.what}, more than a ${this.side}×${this.side} PNG can be`
          : `${err.what}, not an image this command stored`;
        throw new CliError('E_DATA', `${file} is ${what}`, REMAKE);
      }
      if ((err as NodeJS.ErrnoException).code === 'ELOOP')
        throw new CliError('E_DATA', `${file} is a symbolic link, not an image this command stored`, REMAKE);
      throw new CliError('E_DATA', `cannot read ${file} (${(err as Error).message})`, REMAKE);
    }
  }

  /** The RGB pixels of a stored image, after checking its hash, its size and that it decodes. */
  private async readPixels(p: PlannedImage): Promise<Uint8Array> {
    const file = path.join(this.dir, p.file);
    const bytes = await this.readImage(p.file);
    if (sha256(bytes) !== this.hashes.get(p.file)) {
      throw new CliError(
        'E_DATA',
        `${file} is not the image this set stored there (its SHA-256 differs from the one in ${MANIFEST_FILE})`,
        REMAKE,
      );
    }
    const h = pngHeader(bytes);
    if (typeof h === 'string')
      throw new CliError(
        'E_DATA',
        `${file} is ${h === 'not a PNG' ? 'not a PNG' : `not a complete PNG (${h})`}`,
        REMAKE,
      );
    if (h.width !== this.side || h.height !== this.side)
      throw new CliError(
        'E_DATA',
        `${file} is ${h.width}×${h.height}, the set's images are ${this.side}×${this.side}`,
        REMAKE,
      );
    let png: PNG;
    try {
      png = PNG.sync.read(bytes);
    } catch {
      throw new CliError('E_DATA', `${file} is not a complete PNG (truncated or corrupt)`, REMAKE);
    }
    // pngjs gives RGBA; the set stores RGB.
    const rgb = new Uint8Array(png.width * png.height * 3);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgb[i] = png.data[j];
      rgb[i + 1] = png.data[j + 1];
      rgb[i + 2] = png.data[j + 2];
    }
    return rgb;
  }
}
