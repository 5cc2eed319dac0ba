/**
 * `nextscale worker`: takes sample jobs from the queue and renders them with this machine's copy of the
 * model files. A job made for other files (SHA-256) or other model-bound settings is refused: it goes
 * back to the queue (no attempt spent), the refusal is reported to the coordinator, and this worker stops
 * with the difference named. Results go back as the job's return value (PNG bytes, base64).
 */
import { DelayedError, UnrecoverableError, Worker, type Job, type JobJsonRaw } from 'bullmq';
import type { Redis } from 'ioredis';
import { CliError } from '../errors.js';
import type { Context } from '../context.js';
import { checkMemoryFit } from '@nextscale/core';
import { loadedFitCheck, modelShapeOf } from '../limits/memory.js';
import { renderImages, type SamplingModel } from './model.js';
import {
  jobPlanProblem,
  parseJobData,
  refusalsKey,
  REFUSED,
  workerId,
  type SampleJobData,
  type SampleJobResult,
} from './queue.js';

/**
 * BullMQ's worker parses job data itself and, when it is not JSON, throws outside any job: the job
 * stays active until its lock expires, again and again. Here such data reaches the processor as the
 * raw string, which refuses it like any other malformed job.
 */
class SampleWorker extends Worker<SampleJobData, SampleJobResult> {
  protected override createJob(raw: JobJsonRaw, jobId: string) {
    try {
      JSON.parse(raw.data || '{}');
    } catch {
      raw = { ...raw, data: JSON.stringify(String(raw.data).slice(0, 100)) };
    }
    return super.createJob(raw, jobId);
  }
}

export interface WorkerRunOptions {
  name: string;
  stallMs: number;
  /** Stop after this long without a job (ms); undefined = run until interrupted. */
  maxIdleMs?: number;
}

export interface WorkerReport {
  worker: string;
  jobs: number;
  images: number;
  busyMs: number;
  stoppedBecause: 'interrupted' | 'idle' | 'refused';
}

/** Why this worker cannot take `data` (one phrase per difference), or an empty list. */
export function refusalReasons(sm: Pick<SamplingModel, 'files' | 'render'>, data: SampleJobData): string[] {
  const out: string[] = [];
  for (const k of ['var', 'vae'] as const) {
    const mine = sm.files[k].sha256;
    const theirs = data.model?.[k]?.sha256;
    if (mine !== theirs)
      out.push(
        `${k === 'var' ? 'VAR' : 'VQ-VAE'} file ${sm.files[k].path} has sha256 ${mine.slice(0, 12)}…, the set's has ${String(theirs).slice(0, 12)}…`,
      );
  }
  const s = data.settings;
  if (JSON.stringify(s.patchNums) !== JSON.stringify(sm.render.patchNums))
    out.push(`patch sizes [${sm.render.patchNums.join(',')}] here, [${s.patchNums.join(',')}] in the set`);
  for (const k of ['policy', 'backend', 'epsilon'] as const) {
    if ((s[k] ?? null) !== (sm.render[k] ?? null))
      out.push(`${k} ${String(sm.render[k])} here, ${String(s[k])} in the set`);
  }
  return out;
}

export async function runWorker(
  ctx: Context,
  sm: SamplingModel,
  connection: Redis,
  o: WorkerRunOptions,
): Promise<WorkerReport> {
  const id = workerId();
  const report: WorkerReport = { worker: id, jobs: 0, images: 0, busyMs: 0, stoppedBecause: 'interrupted' };
  let refused: string | undefined;
  let lastActivity = performance.now();
  let active = 0;
  let stop: (why: WorkerReport['stoppedBecause']) => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = (why) => {
      report.stoppedBecause = why;
      resolve();
    };
  });

  const shape = modelShapeOf(sm.model);
  const worker = new SampleWorker(
    o.name,
    async (job: Job<SampleJobData, SampleJobResult>, token?: string) => {
      active++;
      try {
        // Job data comes from Redis: whoever can write there. A malformed or edited job fails at
        // once (no retry) with a reason the coordinator recognises, and it enqueues the job again.
        const data = parseJobData(job.data);
        const edited = typeof data === 'string' ? data : jobPlanProblem(data);
        if (edited !== undefined) {
          ctx.warn(`refused job ${job.id}: ${edited}`);
          throw new UnrecoverableError(`${REFUSED}worker ${id}: ${edited}`);
        }
        const reasons = refusalReasons(sm, data as SampleJobData);
        if (reasons.length) {
          refused = reasons.join('; ');
          // Back to the queue for a worker with the right files, without spending one of its attempts.
          await job.moveToDelayed(Date.now() + 1000, token);
          await connection.rpush(
            refusalsKey(o.name),
            `worker ${id} refused job ${job.id} of set ${job.data.setId}: ${refused}`,
          );
          stop('refused');
          throw new DelayedError();
        }
        // As `sample --batch` is checked before any work: a job this machine cannot hold is refused.
        try {
          checkMemoryFit(loadedFitCheck(shape, job.data.images.length, job.data.settings.cfg !== 1));
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          ctx.warn(`refused job ${job.id}: its ${job.data.images.length} images do not fit here (${reason})`);
          throw new UnrecoverableError(
            `job of ${job.data.images.length} images does not fit in worker ${id}'s memory: ${reason}; lower the coordinator's --batch`,
          );
        }
        ctx.log(`job ${job.id} started: ${job.data.images.length} images (attempt ${job.attemptsStarted})`);
        const t0 = performance.now();
        const images = await renderImages(sm.model, job.data.settings, job.data.images);
        const ms = performance.now() - t0;
        report.jobs++;
        report.images += images.length;
        report.busyMs += ms;
        ctx.log(`job ${job.id} done: ${images.length} images in ${(ms / 1000).toFixed(2)} s`);
        return {
          setId: job.data.setId,
          digest: job.data.digest,
          worker: id,
          engine: sm.engine.id,
          ms,
          images: images.map((i) => ({ file: i.file, png: Buffer.from(i.png).toString('base64') })),
        };
      } finally {
        active--;
        lastActivity = performance.now();
      }
    },
    // The lock is renewed every stallMs/2 while a job runs; a worker killed mid-job stops renewing it, and
    // once it expires a live worker's stalled check (every stallMs) puts the job back in the queue.
    {
      connection,
      concurrency: 1,
      lockDuration: o.stallMs,
      stalledInterval: o.stallMs,
      maxStalledCount: 10,
      autorun: true,
    },
  );
  worker.on('error', () => undefined); // connection hiccups: ioredis reconnects
  ctx.log(`worker ${id} on queue ${o.name} (stall interval ${o.stallMs} ms; engine ${sm.engine.id})`);

  const onAbort = () => stop('interrupted');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const idleTimer =
    o.maxIdleMs === undefined
      ? undefined
      : setInterval(() => {
          if (active === 0 && performance.now() - lastActivity > o.maxIdleMs!) stop('idle');
        }, 200);
  try {
    await stopped;
  } finally {
    if (idleTimer) clearInterval(idleTimer);
    ctx.signal.removeEventListener('abort', onAbort);
    // Finishes the job in hand (an interrupt's grace period permitting), then disconnects.
    await worker.close().catch(() => undefined);
  }
  if (report.stoppedBecause === 'refused') {
    throw new CliError(
      'E_USAGE',
      `this worker cannot take the queue's sample set: ${refused}`,
      "run the worker with the coordinator's model files and settings (see the set's manifest.json)",
    );
  }
  return report;
}
