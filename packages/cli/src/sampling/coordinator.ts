/**
 * `sample --queue`: this process holds the output folder and coordinates; workers compute. It enqueues
 * the set's missing chunks (deterministic job ids: a restart does not duplicate work), then polls for
 * completed jobs, stores their images (once each) and removes the jobs, until the set is complete.
 *
 * Nothing read from Redis is trusted: whoever can write there can edit a waiting job, forge a result or
 * delete a job. So job data and results are read raw (never through BullMQ's parser, which throws on
 * bad JSON), a malformed job of any set is skipped and removed, a result is kept only if it echoes the
 * digest of the plan this process makes from its own settings and holds only PNGs of that plan, of
 * the model's size (results.ts), and every chunk whose images are missing is checked to be in the
 * queue as it was enqueued: a missing or edited job is enqueued or restored, with a warning naming it.
 * A job that comes back wrong too often stops the run with its id; no image for `waitMs` stops it too,
 * naming the jobs it waits for. Failed jobs of an earlier run are retried at start; a job that fails
 * now (attempts used up) stops the run with the worker's reason.
 */
import { AbortedError } from '@nextscale/core';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';

import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { chunk, type PlannedImage } from './plan.js';
import type { SetProgress } from './progress.js';
import {
  jobDataOf,
  jobIdOf,
  parseJobData,
  parseQueueName,
  planDigest,
  redactUrl,
  refusalsKey,
  REFUSED,
  setIdOf,
  MAX_JOB_DATA,
  type SampleJobData,
  type SampleJobResult,
} from './queue.js';
import { checkResult, resultCap } from './results.js';
import type { SampleSet } from './set.js';

/** How often one job may come back wrong (edited, forged, lost) before the run stops naming it. */
export const MAX_REQUEUES = 3;

export interface CoordinatorOptions {
  /** An open connection (connectRedis) to `url`; the coordinator does not close it. */
  connection: Redis;
  url: string;
  name: string;
  batch: number;
  progress: SetProgress;
  /** The side of the model's square images: every PNG that comes back must be this size. */
  imageSize: number;
  /** Give up when no image arrives for this long (ms). */
  waitMs: number;
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
  /** Jobs enqueued again because they came back wrong, were edited or disappeared: id and why. */
  requeued: { id: string; why: string }[];
  /** Time spent by the coordinator itself per stored image: collecting, decoding and writing (ms). */
  overheadMsPerImage: number | null;
}

const JOB_OPTS = {
  attempts: 3,
  backoff: { type: 'fixed' as const, delay: 1000 },
  removeOnComplete: false,
  removeOnFail: false,
};

export async function coordinate(ctx: Context, set: SampleSet, o: CoordinatorOptions): Promise<CoordinatorReport> {
  const name = parseQueueName(o.name);
  const url = redactUrl(o.url);
  const connection = o.connection;
  const queue = new Queue<SampleJobData, SampleJobResult>(name, { connection });
  queue.on('error', () => undefined);
  const setId = setIdOf(set.identity);
  const report: CoordinatorReport = {
    url,
    name,
    setId,
    jobsEnqueued: 0,
    jobsCollected: 0,
    stored: 0,
    duplicates: 0,
    byWorker: {},
    retried: [],
    refusals: [],
    requeued: [],
    overheadMsPerImage: null,
  };
  const dupAtStart = set.folder.duplicates;
  const missingOf = (c: readonly PlannedImage[]) => c.filter((p) => !set.folder.done.has(p.file));
  // The chunks this run must see done, by job id (the plan, not Redis, says what they hold).
  const chunks = new Map(
    chunk(set.plan, o.batch)
      .filter((c) => missingOf(c).length)
      .map((c) => [jobIdOf(setId, c), c] as const),
  );
  const requeues = new Map<string, number>();
  const removedHere = new Set<string>();
  let refusalsSeen = await connection.llen(refusalsKey(name));
  let busyMs = 0;

  /** Counts a wrong job (it is enqueued again by `sweep`); too many for one job stops the run, naming it. */
  const requeue = (id: string, why: string) => {
    ctx.warn(`job ${id} of queue ${name}: ${why}; asking for its images again`);
    report.requeued.push({ id, why });
    const n = (requeues.get(id) ?? 0) + 1;
    requeues.set(id, n);
    if (n > MAX_REQUEUES) {
      throw new CliError(
        'E_DATA',
        `job ${id} of queue ${name} at ${url} came back wrong ${n} times (last: ${why}); nothing from it was kept`,
        `someone else writes to that Redis: give the queue a Redis of its own with a password (redis://user:pass@host:port), then run the same command again (the images stored so far are kept)`,
      );
    }
  };
  const remove = async (id: string) => {
    removedHere.add(id);
    await queue.remove(id).catch(() => undefined);
  };

  /** Stores the images of this set's completed jobs and removes the jobs; handles failed ones. Returns the time it took (ms). */
  const collect = async (atStart = false): Promise<number> => {
    const t = performance.now();
    for (const state of ['completed', 'failed'] as const) {
      for (const id of await queue.getRanges([state], 0, 999, true)) {
        if (ctx.signal.aborted) throw new AbortedError();
        const key = queue.toKey(id);
        const size = await connection.hstrlen(key, 'data');
        const raw = size > MAX_JOB_DATA ? undefined : await connection.hget(key, 'data');
        if (raw === null) continue;
        const data = raw === undefined ? `its data is ${(size / 2 ** 20).toFixed(1)} MiB` : parseJobData(raw);
        if (typeof data === 'string') {
          ctx.warn(`skipped job ${id} of queue ${name} and removed it: ${data}`);
          await remove(id);
          if (chunks.has(id)) requeue(id, data);
          continue;
        }
        if (data.setId !== setId) continue; // another set's job, for its own coordinator
        if (state === 'failed') {
          const [reason, made] = await connection.hmget(key, 'failedReason', 'atm');
          await remove(id);
          if (atStart) continue; // a failure of an earlier run: enqueued again below
          if (reason?.startsWith(REFUSED)) {
            if (chunks.has(id)) requeue(id, oneLine(reason));
            continue;
          }
          throw new CliError(
            'E_INTERNAL',
            `job ${id} failed ${made ?? '?'} times on the workers: ${oneLine(reason ?? undefined)}`,
            'fix the cause on the workers and run the same command again (it retries the failed jobs)',
          );
        }
        await take(id, key, data);
      }
    }
    return performance.now() - t;
  };

  /** Keeps what is right in one completed job of this set, asks again for the rest, and removes the job. */
  const take = async (id: string, key: string, data: SampleJobData) => {
    const claimed = data.images;
    const offPlan = claimed.find((p) => JSON.stringify(set.plan[p.position]) !== JSON.stringify(p));
    let problems: string[];
    let worker = '?';
    if (offPlan)
      problems = [
        `its plan was edited (${JSON.stringify(offPlan.file).slice(0, 40)} at position ${offPlan.position} is not this set's)`,
      ];
    else {
      const digest = planDigest(set.identity.model, set.identity.settings, claimed);
      const cap = resultCap(claimed.length, o.imageSize);
      const size = await connection.hstrlen(key, 'returnvalue');
      if (size > cap)
        problems = [
          `its result is ${(size / 2 ** 20).toFixed(1)} MiB, more than ${claimed.length} PNGs of ${o.imageSize}×${o.imageSize} can be`,
        ];
      else {
        const check = checkResult(
          (await connection.hget(key, 'returnvalue')) ?? '',
          { digest, files: claimed.map((p) => p.file) },
          o.imageSize,
        );
        problems = check.problems;
        worker = check.worker;
        const added = await set.store(check.good, ctx.signal);
        report.stored += added;
        if (added) report.byWorker[worker] = (report.byWorker[worker] ?? 0) + added;
      }
    }
    const [ats, stc] = await connection.hmget(key, 'ats', 'stc');
    if (Number(ats) > 1 || Number(stc) > 0)
      report.retried.push({ id, worker, attemptsStarted: Number(ats) || 0, stalled: Number(stc) || 0 });
    report.jobsCollected++;
    // Only after the images are on disk: a coordinator killed before this collects the job again.
    await remove(id);
    if (problems.length && chunks.has(id) && missingOf(chunks.get(id)!).length)
      requeue(id, problems.slice(0, 3).join('; '));
  };

  /** Makes the queue hold every chunk with missing images as this process would enqueue it. */
  const sweep = async () => {
    const open = [...chunks].filter(([, c]) => missingOf(c).length);
    for (let i = 0; i < open.length; i += 1000) {
      const part = open.slice(i, i + 1000);
      const pipe = connection.pipeline();
      for (const [id] of part) pipe.hget(queue.toKey(id), 'data');
      const held = (await pipe.exec()) ?? [];
      const add: { name: string; data: SampleJobData; opts: typeof JOB_OPTS & { jobId: string } }[] = [];
      for (let j = 0; j < part.length; j++) {
        const [id, c] = part[j];
        const raw = held[j]?.[1] as string | null | undefined;
        const honest = jobDataOf(set.identity, missingOf(c));
        if (raw === null || raw === undefined) {
          if (report.jobsEnqueued && !removedHere.has(id)) requeue(id, 'it disappeared from the queue');
          removedHere.delete(id);
          add.push({ name: 'sample', data: honest, opts: { ...JOB_OPTS, jobId: id } });
        } else if (!isHonest(raw)) {
          const data = parseJobData(raw);
          requeue(
            id,
            `its data was changed in Redis (${typeof data === 'string' ? data : 'another plan'}); restored it`,
          );
          await connection.hset(queue.toKey(id), 'data', JSON.stringify(honest));
        }
      }
      if (add.length) await queue.addBulk(add);
    }
  };

  /** Whether job data is exactly what this process enqueues for a subset of this set's plan (an earlier run's included). */
  const isHonest = (raw: string): boolean => {
    const d = parseJobData(raw);
    if (typeof d === 'string' || d.setId !== setId) return false;
    const planned = d.images.map((p) => set.plan[p.position]);
    return (
      planned.every((p) => p !== undefined) &&
      JSON.stringify(jobDataOf(set.identity, planned as PlannedImage[])) === raw
    );
  };

  try {
    // Jobs that completed while no coordinator ran, and failed jobs from before (retried now).
    busyMs += await collect(true);
    await sweep();
    report.jobsEnqueued = chunks.size;
    ctx.log(`queue ${name} at ${url}: ${chunks.size} jobs of up to ${o.batch} images for set ${setId}`);

    let warnedNoWorkers = false;
    const t0 = performance.now();
    let lastImage = t0;
    let lastSweep = t0;
    while (!set.complete) {
      if (ctx.signal.aborted) throw new AbortedError();
      const before = set.done;
      busyMs += await collect();
      o.progress.update(set.done);
      if (set.complete) break;
      const now = performance.now();
      if (set.done > before) lastImage = now;
      if (now - lastSweep > 2000) {
        lastSweep = now;
        await sweep();
      }

      const refusals = await connection.lrange(refusalsKey(name), refusalsSeen, -1);
      refusalsSeen += refusals.length;
      for (const r of refusals) {
        if (!r.includes(setId)) continue;
        report.refusals.push(r);
        ctx.warn(r.slice(0, 500));
      }
      if (!warnedNoWorkers && now - t0 > 5000 && (await queue.getWorkers()).length === 0) {
        warnedNoWorkers = true;
        ctx.warn(`no worker is connected to queue ${name} at ${url}; start one with: nextscale worker --queue ${url}`);
      }
      if (now - lastImage > o.waitMs) {
        const waiting = [...chunks].filter(([, c]) => missingOf(c).length).map(([id]) => id);
        throw new CliError(
          'E_BACKEND_UNAVAILABLE',
          `no image came back from queue ${name} at ${url} in ${Math.round(o.waitMs / 1000)} s; still waiting for ${waiting.length} job${waiting.length === 1 ? '' : 's'} (${waiting.slice(0, 3).join(', ')}${waiting.length > 3 ? ', …' : ''})`,
          `check that workers run (nextscale worker --queue ${url}) or pass a longer --queue-wait; the images stored so far are kept, run the same command again to carry on`,
        );
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
