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
import type { PlannedImage } from './plan.js';

export const DEFAULT_QUEUE_NAME = 'nextscale-sample';
/** Lock duration and stalled-job check interval of workers (ms); NEXTSCALE_STALL_MS or --stall-ms changes it. */
export const DEFAULT_STALL_MS = 30_000;

export interface SampleJobData {
  setId: string;
  model: { var: Pick<ModelFile, 'sha256' | 'bytes'>; vae: Pick<ModelFile, 'sha256' | 'bytes'> };
  settings: SetSettings;
  images: PlannedImage[];
}

export interface SampleJobResult {
  setId: string;
  worker: string;
  engine: string;
  ms: number;
  /** PNG bytes, base64. */
  images: { file: string; png: string }[];
}

export function setIdOf(identity: SetIdentity): string {
  const key = JSON.stringify({ var: identity.model.var.sha256, vae: identity.model.vae.sha256, settings: identity.settings });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function jobIdOf(setId: string, chunk: readonly PlannedImage[]): string {
  return `${setId}-${chunk[0]!.position}-${chunk.length}`;
}

/** Checks the URL's form; the fix names the expected one. */
export function parseQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`--queue ${url} is not a URL`, 'pass --queue redis://host:port');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw usageError(`--queue ${url} is not a redis:// URL`, 'pass --queue redis://host:port');
  return url;
}

export function parseQueueName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw usageError(`--queue-name ${name} is not a valid queue name`, 'use letters, digits, _ . - (no colons)');
  return name;
}

export function workerId(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** Where workers report jobs they refused (a Redis list the coordinator reads). */
export const refusalsKey = (queueName: string) => `nextscale:${queueName}:refusals`;

/** The stall interval from --stall-ms, else NEXTSCALE_STALL_MS, else the default. */
export function stallMsFrom(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  const v = flag ?? env['NEXTSCALE_STALL_MS'];
  if (v === undefined || v === '') return DEFAULT_STALL_MS;
  const n = Number(v);
  const where = flag !== undefined ? '--stall-ms' : 'NEXTSCALE_STALL_MS';
  if (!Number.isInteger(n) || n < 500) throw usageError(`${where} expects an integer of at least 500 (milliseconds), got '${v}'`, `pass e.g. ${where === '--stall-ms' ? '--stall-ms 30000' : 'NEXTSCALE_STALL_MS=30000'}`);
  return n;
}
