/**
 * A sample set: every (class, index) pair, class-major, each with its file name and seed. File names
 * sort in that order: `<class, 4 digits>_<index, 6 digits>.png` (e.g. `0207_000012.png`).
 */
import { imageSeed } from './seeds.js';

export const MAX_PER_CLASS = 1_000_000;
export const MAX_CLASS = 10_000;

export interface PlannedImage {
  /** Position in the set (class-major, then index): the row of `arr_0`. */
  position: number;
  cls: number;
  index: number;
  seed: number;
  file: string;
}

export function imageFile(cls: number, index: number): string {
  return `${String(cls).padStart(4, '0')}_${String(index).padStart(6, '0')}.png`;
}

const FILE_RE = /^(\d{4})_(\d{6})\.png$/;

/** (class, index) of a sample file name, or undefined for any other name. */
export function parseImageFile(name: string): { cls: number; index: number } | undefined {
  const m = FILE_RE.exec(name);
  return m ? { cls: Number(m[1]), index: Number(m[2]) } : undefined;
}

export function planSet(classes: readonly number[], perClass: number, seed: number): PlannedImage[] {
  const out: PlannedImage[] = [];
  for (const cls of classes) {
    for (let index = 0; index < perClass; index++) {
      out.push({ position: out.length, cls, index, seed: imageSeed(seed, cls, index), file: imageFile(cls, index) });
    }
  }
  return out;
}

/** Consecutive runs of at most `size` images (the work units: a batch locally, a job on the queue). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
