/**
 * `manifest.json` in the output folder: what the set is (model files by SHA-256, every setting that
 * changes a pixel, the seed of every image) and how far it got. The images on disk are the truth about
 * what is done (each PNG is written atomically); the manifest's `done` marks are refreshed from them.
 * Written atomically, at most every few seconds while sampling and once at the end.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CliError } from '../errors.js';
import { writeError, writeFileAtomic } from '../util/atomic.js';
import type { PlannedImage } from './plan.js';
import { SEED_DERIVATION } from './seeds.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'nextscale-sample-set';
export const MANIFEST_VERSION = 1;

export interface ModelFile {
  path: string;
  sha256: string;
  bytes: number;
}

/** Everything that decides an image's pixels besides the model files and its own seed. */
export interface SetSettings {
  perClass: number;
  classes: number[];
  seed: number;
  cfg: number;
  topK: number;
  topP: number;
  moreSmooth: boolean;
  patchNums: number[];
  policy: string;
  backend: string | null;
  epsilon: number | null;
}

export interface SetIdentity {
  model: { var: ModelFile; vae: ModelFile };
  settings: SetSettings;
}

export interface Manifest extends SetIdentity {
  format: typeof MANIFEST_FORMAT;
  version: number;
  seedDerivation: string;
  fileNames: string;
  createdAt: string;
  updatedAt: string;
  /** How the images were made (informational, not compared on resume). */
  run: { engine: string; nextscale: string };
  total: number;
  done: number;
  /** `sha256`: of the stored PNG, checked before packing (absent until the image is done). */
  images: { file: string; class: number; index: number; seed: number; done: boolean; sha256?: string }[];
  npz: { path: string; bytes: number } | null;
}

export function buildManifest(
  identity: SetIdentity,
  plan: readonly PlannedImage[],
  done: ReadonlySet<string>,
  run: Manifest['run'],
): Manifest {
  const now = new Date().toISOString();
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    ...identity,
    seedDerivation: SEED_DERIVATION,
    fileNames: '<class, 4 digits>_<index, 6 digits>.png; arr_0 rows in that order (class-major, then index)',
    createdAt: now,
    updatedAt: now,
    run,
    total: plan.length,
    done: done.size,
    images: plan.map((p) => ({ file: p.file, class: p.cls, index: p.index, seed: p.seed, done: done.has(p.file) })),
    npz: null,
  };
}

export function markDone(m: Manifest, done: ReadonlySet<string>, hashes: ReadonlyMap<string, string>): void {
  for (const im of m.images) {
    im.done = done.has(im.file);
    if (im.done) im.sha256 = hashes.get(im.file);
    else delete im.sha256;
  }
  m.done = m.images.filter((i) => i.done).length;
  m.updatedAt = new Date().toISOString();
}

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  const target = path.join(dir, MANIFEST_FILE);
  try {
    await writeFileAtomic(target, new TextEncoder().encode(`${JSON.stringify(m, null, 1)}\n`));
  } catch (err) {
    throw writeError(target, err);
  }
}

/** The manifest in `dir`, undefined when there is none; an unreadable one is a usage error. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // no folder yet (or a file in its path: ensureWritable says so)
    throw new CliError('E_USAGE', `cannot read ${file} (${(err as Error).message})`, 'pass another --out folder');
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new CliError('E_USAGE', `${file} is not valid JSON`, 'remove the folder or pass another --out folder');
  }
  if (m?.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION || !m.settings || !m.model) {
    throw new CliError(
      'E_USAGE',
      `${file} is not a nextscale sample manifest (format ${MANIFEST_VERSION})`,
      'pass another --out folder',
    );
  }
  return m;
}

/** What differs between a folder's set and the one asked for, as "what: was → now" phrases. */
export function identityDifferences(have: SetIdentity, want: SetIdentity): string[] {
  const out: string[] = [];
  for (const k of ['var', 'vae'] as const) {
    if (have.model[k]?.sha256 !== want.model[k].sha256) {
      out.push(
        `${k === 'var' ? 'VAR' : 'VQ-VAE'} file (sha256 ${short(have.model[k]?.sha256)} → ${short(want.model[k].sha256)}, ${path.basename(want.model[k].path)})`,
      );
    }
  }
  const a = have.settings as unknown as Record<string, unknown>;
  const b = want.settings as unknown as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (JSON.stringify(a[key] ?? null) !== JSON.stringify(b[key] ?? null))
      out.push(`${key} ${fmt(a[key])} → ${fmt(b[key])}`);
  }
  return out;
}

const short = (h?: string) => (h ? h.slice(0, 12) : 'none');
const fmt = (v: unknown) =>
  Array.isArray(v) ? (v.length > 8 ? `[${v.slice(0, 8).join(',')},…]` : `[${v.join(',')}]`) : String(v ?? 'unset');
