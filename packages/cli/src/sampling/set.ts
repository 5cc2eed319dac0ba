/**
 * A sample set on disk, from the command's point of view: which images it holds (the plan), whether
 * the folder's manifest is this set (resume) or another one (an error naming what differs), storing
 * results as they come, and finishing (the `.npz`, the final manifest). Shared by the local sampler
 * and the queue coordinator.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors.js';
import { type AvailableMemory, availableMemory, checkMemoryFit, type ModelShape } from '@nextscale/core';
import { inFlagTerms, loadedFitCheck, maxLoadedImages, modelShapeOf } from '../limits/memory.js';
import type { VARModel } from '../core-api.js';
import {
  buildManifest,
  identityDifferences,
  markDone,
  readManifest,
  writeManifest,
  MANIFEST_FILE,
  type Manifest,
  type SetIdentity,
  type SetSettings,
} from './manifest.js';
import { planSet, type PlannedImage } from './plan.js';
import { SampleFolder } from './store.js';
import type { SamplingModel } from './model.js';

export interface SetRequest {
  out: string;
  npz: string;
  /** Overwrite an existing `npz` that is not this set's. */
  force?: boolean;
  /** The side of the model's square images. */
  imageSize: number;
  perClass: number;
  classes: number[];
  seed: number;
}

/** `<folder>.npz` beside the folder, as the reference names it. */
export function defaultNpzPath(out: string): string {
  return `${path.resolve(out).replace(/[\\/]+$/, '')}.npz`;
}

export class SampleSet {
  /** When the manifest was last written (it is refreshed at most every `manifestEveryMs`). */
  private lastManifest = 0;
  manifestEveryMs = 2000;
  private wanted?: Set<string>;

  private constructor(
    readonly request: SetRequest,
    readonly identity: SetIdentity,
    readonly plan: PlannedImage[],
    readonly folder: SampleFolder,
    readonly manifest: Manifest,
    /** Images already on disk when this run started. */
    readonly doneAtStart: number,
  ) {}

  /**
   * Opens (or starts) the set in `request.out`: a manifest there must describe the same set, a folder
   * without one must hold no PNG files. Removes temporary files a killed run left.
   */
  static async open(
    request: SetRequest,
    sm: Pick<SamplingModel, 'files' | 'render' | 'engine'>,
    version: string,
  ): Promise<SampleSet> {
    const settings: SetSettings = {
      perClass: request.perClass,
      classes: request.classes,
      seed: request.seed,
      ...sm.render,
    };
    const identity: SetIdentity = { model: sm.files, settings };
    const plan = planSet(request.classes, request.perClass, request.seed);
    const existing = await readManifest(request.out);
    await refuseForeignNpz(request, existing);
    const folder = new SampleFolder(request.out, request.imageSize);
    await folder.ensureWritable();
    if (existing) {
      const diff = identityDifferences(existing, identity);
      if (diff.length) {
        throw usageError(
          `${request.out} holds another sample set (${diff.join('; ')})`,
          'run the command that made it (see its manifest.json), or pass another --out folder',
        );
      }
    } else {
      const stray = await SampleFolder.strayImages(request.out);
      if (stray.length) {
        throw usageError(
          `${request.out} holds ${stray.length} PNG file${stray.length === 1 ? '' : 's'} but no ${MANIFEST_FILE}; they are not part of a sample set`,
          'pass an empty or new --out folder',
        );
      }
    }
    const recorded = new Map(
      (existing?.images ?? []).filter((i) => typeof i?.sha256 === 'string').map((i) => [i.file, i.sha256!] as const),
    );
    await folder.open(plan, recorded);
    const manifest = buildManifest(identity, plan, folder.done, {
      engine: `${sm.engine.id} (${sm.engine.name})`,
      nextscale: version,
    });
    if (existing) manifest.createdAt = existing.createdAt;
    const set = new SampleSet(request, identity, plan, folder, manifest, folder.done.size);
    await set.saveManifest(true);
    return set;
  }

  get done(): number {
    return this.folder.done.size;
  }

  get complete(): boolean {
    return this.folder.done.size === this.plan.length;
  }

  /** Planned images not on disk yet, in plan order. */
  missing(): PlannedImage[] {
    return this.plan.filter((p) => !this.folder.done.has(p.file));
  }

  /** Stores results (an image already stored is counted as a duplicate and dropped). */
  async store(images: readonly { file: string; png: Uint8Array }[], signal?: AbortSignal): Promise<number> {
    this.wanted ??= new Set(this.plan.map((p) => p.file));
    let added = 0;
    for (const im of images) {
      if (!this.wanted.has(im.file)) continue;
      if (await this.folder.store(im.file, im.png, signal)) added++;
    }
    await this.saveManifest(false);
    return added;
  }

  async saveManifest(force: boolean): Promise<void> {
    const t = performance.now();
    if (!force && t - this.lastManifest < this.manifestEveryMs) return;
    this.lastManifest = t;
    markDone(this.manifest, this.folder.done, this.folder.hashes);
    await writeManifest(this.request.out, this.manifest);
  }

  /** The `.npz` (only once every image is there) and the final manifest. */
  async finish(signal?: AbortSignal): Promise<{ path: string; bytes: number; shape: number[] }> {
    if (!this.complete) throw new Error(`finish() with ${this.plan.length - this.done} images missing`);
    const npz = await this.folder.writeNpz(this.request.npz, this.plan, signal);
    this.manifest.npz = { path: npz.path, bytes: npz.bytes };
    await this.saveManifest(true);
    return npz;
  }
}

/**
 * An existing file at the `.npz` path is overwritten only when it is this set's (the manifest recorded
 * it there) or with --force: a set must not silently replace someone's other `.npz`.
 */
async function refuseForeignNpz(request: SetRequest, existing: Manifest | undefined): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(request.npz);
  } catch {
    return;
  }
  if (st.isDirectory()) throw usageError(`--npz ${request.npz} is a folder`, 'pass --npz <file>');
  if (request.force) return;
  if (existing?.npz?.path === request.npz && existing.npz.bytes === st.size) return;
  throw usageError(
    `${request.npz} already exists and is not this sample set's .npz`,
    'pass --force to overwrite it, or --npz <another file>',
  );
}

/** The largest set one manifest holds: its JSON stays well under V8's longest string (~512 MiB). */
export const MAX_SET_IMAGES = 1_000_000;
/** Memory a planned image costs while sampling (the plan, its manifest entry, the done set and the JSON). */
const BYTES_PER_PLANNED_IMAGE = 1024;

/** Refuses, before any work, a set larger than one manifest or this machine's memory can hold. */
export function refuseSetThatCannotFit(perClass: number, classes: number, budget = availableMemory().bytes): void {
  const total = perClass * classes;
  const byMemory = Math.floor((0.25 * budget) / BYTES_PER_PLANNED_IMAGE);
  const most = Math.min(MAX_SET_IMAGES, byMemory);
  if (total <= most) return;
  const why =
    most === MAX_SET_IMAGES
      ? `more than one manifest holds (${MAX_SET_IMAGES.toLocaleString('en-US')} images)`
      : `more than this machine's memory can track (about ${most.toLocaleString('en-US')} images)`;
  throw usageError(
    `a set of ${total.toLocaleString('en-US')} images (${classes} class${classes === 1 ? '' : 'es'} × --per-class ${perClass}) is ${why}`,
    `lower --per-class to at most ${Math.max(1, Math.floor(most / classes))} or pass fewer --classes (and make several sets)`,
  );
}

/**
 * `nextscale sample`'s batch when --batch is not given: 8 images per forward pass, or the most that fit in memory if
 * fewer. Measured (NOTES.md, Session 7: batch; onnx engine, d16 widths): since the fused blocks run large scales in
 * row chunks, the CPU time per image is the same at 1, 4 and 8 images (3.37 / 3.44 / 3.38 s for 4 blocks), while the
 * wall clock per image fell with the batch (0.53× at 8 in that run): a batch shares the per-call overhead and the
 * small scales' weight reads. Larger batches only grow the KV cache and the decoder's activations.
 */
export const DEFAULT_SAMPLE_BATCH = 8;

export function defaultSampleBatch(shape: ModelShape, cfg: boolean, available?: AvailableMemory): number {
  return Math.max(1, Math.min(DEFAULT_SAMPLE_BATCH, maxLoadedImages(shape, cfg, available)));
}

/** Refuses, before any work, a --batch this machine cannot hold (core's check, exit 5, with the largest that fits). */
export function refuseBatchThatCannotFit(model: VARModel, batch: number, cfg: boolean): void {
  try {
    checkMemoryFit(loadedFitCheck(modelShapeOf(model), batch, cfg));
  } catch (err) {
    throw inFlagTerms(
      err,
      (most) => (most >= 1 ? `lower --batch to at most ${most}` : undefined),
      `(--batch ${batch})`,
    );
  }
}
