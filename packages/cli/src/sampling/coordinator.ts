/**
 * `sample --queue`: this process holds the output folder and coordinates; workers compute. It enqueues
 * the set's missing chunks (deterministic job ids: a restart does not duplicate work), then polls for
 * completed jobs, stores their images (once each) and removes the jobs, until the set is complete.
 * Failed jobs of an earlier run are retried at start; a job that fails now (attempts used up) stops
 * the run with the worker's reason (running the command again retries it). Refusals by workers with
 * other model files are printed as warnings: the job goes back to the queue for the right workers.
 */
import { AbortedError } from '@nextscale/core';
import type { Redis } from 'ioredis';
import { Queue, type Job } from 'bullmq';

import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { chunk } from './plan.js';
import type { SetProgress } from './progress.js';
import { jobIdOf, parseQueueName, refusalsKey, setIdOf, type SampleJobData, type SampleJobResult } from './queue.js';
import type { SampleSet } from './set.js';

export interface CoordinatorOptions {
  /** An open connection (connectRedis) to `url`; the coordinator does not close it. */
  connection: Redis;
  url: string;
  name: string;
  batch: number;
  progress: SetProgress;
  /** How often to look for completed jobs (ms). */
  pollMs?: number;
}

export interface CoordinatorReport {
  url: string;
  name: string;
  setId: string;
  jobsEnqueued: number;
  jobsCollected: number;
  /** Images stored by this run. */
  stored: number;
  /** Images that arrived again after they were stored (a job that ran twice). */
  duplicates: number;
  /** Images stored per worker id. */
  byWorker: Record<string, number>;
  /** Jobs that ran more than once (a worker died or stalled): id, worker that finished it, attempts started. */
  retried: { id: string; worker: string; attemptsStarted: number; stalled: number }[];
  refusals: string[];
  /** Time spent by the coordinator itself per stored image: collecting, decoding and writing (ms). */
  overheadMsPerImage: number | null;
}

type SampleJob = Job<SampleJobData, SampleJobResult>;

export async function coordinate(ctx: Context, set: SampleSet, o: CoordinatorOptions): Promise<CoordinatorReport> {
  const name = parseQueueName(o.name);
  const connection = o.connection;
  const queue = new Queue<SampleJobData, SampleJobResult>(name, { connection });
  queue.on('error', () => undefined);
  const setId = setIdOf(set.identity);
  const report: CoordinatorReport = { url: o.url, name, setId, jobsEnqueued: 0, jobsCollected: 0, stored: 0, duplicates: 0, byWorker: {}, retried: [], refusals: [], overheadMsPerImage: null };
  const dupAtStart = set.folder.duplicates;
  let refusalsSeen = await connection.llen(refusalsKey(name));
  let busyMs = 0;
  try {
    // Jobs that completed while no coordinator ran, and failed jobs from before (retried now).
    busyMs += await collect(ctx, set, queue, setId, report);
    for (const j of await jobsOf(queue, setId, ['failed'])) await j.remove();

    const chunks = chunk(set.plan, o.batch).filter((c) => c.some((p) => !set.folder.done.has(p.file)));
    const data = { setId, model: { var: pick(set.identity.model.var), vae: pick(set.identity.model.vae) }, settings: set.identity.settings };
    // Adding a job whose id exists (waiting, running, completed) is a no-op in BullMQ.
    for (let i = 0; i < chunks.length; i += 500) {
      await queue.addBulk(
        chunks.slice(i, i + 500).map((c) => ({
          name: 'sample',
          data: { ...data, images: c.filter((p) => !set.folder.done.has(p.file)) },
          opts: { jobId: jobIdOf(setId, c), attempts: 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false },
        })),
      );
    }
    report.jobsEnqueued = chunks.length;
    ctx.log(`queue ${name} at ${o.url}: ${chunks.length} jobs of up to ${o.batch} images for set ${setId}`);

    let warnedNoWorkers = false;
    const t0 = performance.now();
    while (!set.complete) {
      if (ctx.signal.aborted) throw new AbortedError();
      const n = await collect(ctx, set, queue, setId, report);
      busyMs += n;
      o.progress.update(set.done);
      if (set.complete) break;

      const refusals = await connection.lrange(refusalsKey(name), refusalsSeen, -1);
      refusalsSeen += refusals.length;
      for (const r of refusals) {
        if (!r.includes(setId)) continue;
        report.refusals.push(r);
        ctx.warn(r);
      }
      const failed = await jobsOf(queue, setId, ['failed']);
      if (failed.length) {
        const j = failed[0]!;
        throw new CliError('E_INTERNAL', `job ${j.id} failed ${j.attemptsMade} times on the workers: ${oneLine(j.failedReason)}`, 'fix the cause on the workers and run the same command again (it retries the failed jobs)');
      }
      if (!warnedNoWorkers && performance.now() - t0 > 5000 && (await queue.getWorkers()).length === 0) {
        warnedNoWorkers = true;
        ctx.warn(`no worker is connected to queue ${name} at ${o.url}; start one with: nextscale worker --queue ${o.url}`);
      }
      await sleep(o.pollMs ?? 200, ctx.signal);
    }
    await set.saveManifest(true);
    report.duplicates = set.folder.duplicates - dupAtStart;
    report.overheadMsPerImage = report.stored ? Math.round((busyMs / report.stored) * 1000) / 1000 : null;
    return report;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/** Stores the images of this set's completed jobs and removes the jobs; returns the time it took (ms). */
async function collect(ctx: Context, set: SampleSet, queue: Queue<SampleJobData, SampleJobResult>, setId: string, report: CoordinatorReport): Promise<number> {
  const jobs = await jobsOf(queue, setId, ['completed'], 100);
  if (!jobs.length) return 0;
  const t = performance.now();
  for (const job of jobs) {
    const r = job.returnvalue;
    if (r?.images) {
      const images = r.images.map((i) => ({ file: i.file, png: new Uint8Array(Buffer.from(i.png, 'base64')) }));
      const added = await set.store(images, ctx.signal);
      report.stored += added;
      report.byWorker[r.worker] = (report.byWorker[r.worker] ?? 0) + added;
      if ((job.attemptsStarted ?? 0) > 1 || (job.stalledCounter ?? 0) > 0) {
        report.retried.push({ id: String(job.id), worker: r.worker, attemptsStarted: job.attemptsStarted ?? 0, stalled: job.stalledCounter ?? 0 });
      }
    }
    report.jobsCollected++;
    // Only after the images are on disk: a coordinator killed before this collects the job again.
    await job.remove().catch(() => undefined);
  }
  return performance.now() - t;
}

async function jobsOf(queue: Queue<SampleJobData, SampleJobResult>, setId: string, types: ('completed' | 'failed')[], limit = 1000): Promise<SampleJob[]> {
  const jobs = (await queue.getJobs(types, 0, limit - 1, true)) as SampleJob[];
  return jobs.filter((j) => j?.data?.setId === setId);
}

const pick = (f: { sha256: string; bytes: number }) => ({ sha256: f.sha256, bytes: f.bytes });
const oneLine = (s: string | undefined) => (s ?? 'no reason given').replace(/\s*\n\s*/g, ' ').slice(0, 300);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

