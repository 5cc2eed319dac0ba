/**
 * Sample sets over BullMQ (Redis): the wire format and the connection. The coordinator
 * (coordinator.ts) enqueues chunks of planned images as jobs and collects the PNG bytes from the
 * completed jobs' return values (no shared disk); workers (worker.ts) render jobs with their own copy
 * of the model files and refuse jobs made for other files.
 *
 * - One queue (default name `nextscale-sample`) may carry several sets; a job's `setId` (a hash of the
 *   model files' SHA-256 and the settings) says which. The coordinator scans the oldest 100 completed
 *   jobs per poll, so sets sampled at the same time should use their own queue names.
 * - Job ids are deterministic (`<setId>-<first position>-<count>` of a fixed chunk of the plan), so a
 *   restarted coordinator does not enqueue a chunk that is still waiting, running or completed but not
 *   collected; it collects those first. An image that arrives twice is stored once.
 * - A worker killed mid-job holds its job's lock until the lock expires (the stall interval); then a
 *   live worker's stalled-job check puts the job back in the queue and another worker takes it.
 *
 * This module holds no client code: the commands load ioredis and BullMQ (redis.ts, coordinator.ts,
 * worker.ts) only when they use a queue, so every other command starts without them.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { usageError } from '../errors.js';
import type { ModelFile, SetIdentity, SetSettings } from './manifest.js';
import { imageFile, type PlannedImage } from './plan.js';
import { imageSeed } from './seeds.js';

export const DEFAULT_QUEUE_NAME = 'nextscale-sample';
/** Default of `sample --queue-wait`: how long the coordinator waits for the next image (s). */
export const DEFAULT_QUEUE_WAIT_S = 1800;
/** Lock duration and stalled-job check interval of workers (ms); NEXTSCALE_STALL_MS or --stall-ms changes it. */
export const DEFAULT_STALL_MS = 30_000;

export interface SampleJobData {
  setId: string;
  /** planDigest of the rest: a worker renders only a job whose plan matches it, the coordinator keeps only results that echo it. */
  digest: string;
  model: { var: Pick<ModelFile, 'sha256' | 'bytes'>; vae: Pick<ModelFile, 'sha256' | 'bytes'> };
  settings: SetSettings;
  images: PlannedImage[];
}

export interface SampleJobResult {
  setId: string;
  /** The digest of the job the worker rendered. */
  digest: string;
  worker: string;
  engine: string;
  ms: number;
  /** PNG bytes, base64. */
  images: { file: string; png: string }[];
}

export function setIdOf(identity: SetIdentity): string {
  const key = JSON.stringify({
    var: identity.model.var.sha256,
    vae: identity.model.vae.sha256,
    settings: identity.settings,
  });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

type ModelHashes = { var: Pick<ModelFile, 'sha256'>; vae: Pick<ModelFile, 'sha256'> };

/**
 * A job's plan in one hash: the model files' SHA-256, every setting, and each image's position,
 * class, index, seed and file name. Not a secret (anyone who can write the queue can recompute it):
 * it lets a worker refuse a job that was edited without it, and the coordinator, which recomputes it
 * from its own settings, refuse the result of a job that was edited with it.
 */
export function planDigest(model: ModelHashes, settings: SetSettings, images: readonly PlannedImage[]): string {
  const key = JSON.stringify({
    model: [model.var.sha256, model.vae.sha256],
    settings,
    images: images.map((p) => [p.position, p.cls, p.index, p.seed, p.file]),
  });
  return createHash('sha256').update(key).digest('hex');
}

/** The data the coordinator enqueues for `images` (the same string each time: it is compared as such). */
export function jobDataOf(identity: SetIdentity, images: readonly PlannedImage[]): SampleJobData {
  const pick = (f: ModelFile) => ({ sha256: f.sha256, bytes: f.bytes });
  const model = { var: pick(identity.model.var), vae: pick(identity.model.vae) };
  const plain = images.map((p) => ({ position: p.position, cls: p.cls, index: p.index, seed: p.seed, file: p.file }));
  return {
    setId: setIdOf(identity),
    digest: planDigest(model, identity.settings, plain),
    model,
    settings: identity.settings,
    images: plain,
  };
}

/** Job data longer than this is not a sample job (a job of 10,000 images is about 1 MB). */
export const MAX_JOB_DATA = 16 << 20;

/** Job data as read from Redis, checked for shape; a string says why it is not a sample job. */
export function parseJobData(raw: unknown): SampleJobData | string {
  if (typeof raw === 'string') {
    if (raw.length > MAX_JOB_DATA) return `its data is ${Math.round(raw.length / 2 ** 20)} MiB`;
    try {
      raw = JSON.parse(raw);
    } catch {
      return 'its data is not JSON';
    }
  }
  const d = raw as Partial<SampleJobData> | null;
  if (typeof d !== 'object' || d === null) return 'its data is not an object';
  if (typeof d.setId !== 'string' || typeof d.digest !== 'string') return 'its data has no set id or digest';
  const s = d.settings as Partial<SetSettings> | undefined;
  if (
    typeof s !== 'object' ||
    s === null ||
    !Array.isArray(s.classes) ||
    !Array.isArray(s.patchNums) ||
    typeof s.seed !== 'number' ||
    typeof s.perClass !== 'number'
  )
    return 'its settings are malformed';
  if (typeof d.model?.var?.sha256 !== 'string' || typeof d.model?.vae?.sha256 !== 'string')
    return 'its model hashes are malformed';
  if (!Array.isArray(d.images) || d.images.length === 0) return 'it lists no images';
  for (const p of d.images as unknown[]) {
    const q = p as Partial<PlannedImage> | null;
    if (
      typeof q !== 'object' ||
      q === null ||
      ![q.position, q.cls, q.index, q.seed].every((n) => Number.isSafeInteger(n)) ||
      typeof q.file !== 'string'
    )
      return 'its image list is malformed';
  }
  return d as SampleJobData;
}

/** Why a job's plan is not what its digest and its own settings say (edited in Redis), or undefined. */
export function jobPlanProblem(d: SampleJobData): string | undefined {
  if (planDigest(d.model, d.settings, d.images) !== d.digest) return 'its plan does not match its digest';
  if (setIdOf({ model: d.model as SetIdentity['model'], settings: d.settings }) !== d.setId)
    return 'its settings do not match its set id';
  const { classes, perClass, seed } = d.settings;
  for (const p of d.images) {
    const c = classes.indexOf(p.cls);
    const honest =
      c >= 0 &&
      p.index >= 0 &&
      p.index < perClass &&
      p.position === c * perClass + p.index &&
      p.seed === imageSeed(seed, p.cls, p.index) &&
      p.file === imageFile(p.cls, p.index);
    if (!honest)
      return `its image ${JSON.stringify(p.file).slice(0, 40)} is not the one its set plans at position ${p.position}`;
  }
  return undefined;
}

/** The URL as messages show it: the password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export function jobIdOf(setId: string, chunk: readonly PlannedImage[]): string {
  return `${setId}-${chunk[0].position}-${chunk.length}`;
}

/** Checks the URL's form; the fix names the expected one. */
export function parseQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`--queue ${redactUrl(url)} is not a URL`, 'pass --queue redis://host:port');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw usageError(`--queue ${redactUrl(url)} is not a redis:// URL`, 'pass --queue redis://host:port');
  return url;
}

export function parseQueueName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name))
    throw usageError(`--queue-name ${name} is not a valid queue name`, 'use letters, digits, _ . - (no colons)');
  return name;
}

export function workerId(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** How a worker's failure reason starts when it refused a job whose plan was edited (the coordinator enqueues it again). */
export const REFUSED = 'refused: ';

/** Where workers report jobs they refused (a Redis list the coordinator reads). */
export const refusalsKey = (queueName: string) => `nextscale:${queueName}:refusals`;

/** The stall interval from --stall-ms, else NEXTSCALE_STALL_MS, else the default. */
export function stallMsFrom(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  const v = flag ?? env['NEXTSCALE_STALL_MS'];
  if (v === undefined || v === '') return DEFAULT_STALL_MS;
  const n = Number(v);
  const where = flag !== undefined ? '--stall-ms' : 'NEXTSCALE_STALL_MS';
  if (!Number.isInteger(n) || n < 500)
    throw usageError(
      `${where} expects an integer of at least 500 (milliseconds), got '${v}'`,
      `pass e.g. ${where === '--stall-ms' ? '--stall-ms 30000' : 'NEXTSCALE_STALL_MS=30000'}`,
    );
  return n;
}
