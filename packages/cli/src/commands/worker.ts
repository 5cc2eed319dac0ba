/** `nextscale worker --queue <url>`: renders `nextscale sample --queue` jobs with this machine's model files. */
import { Command } from 'commander';
import { AbortedError } from '@nextscale/core';
import type { Context } from '../context.js';
import { parseNumber } from '../config/resolve.js';
import { usageError } from '../errors.js';
import { writeJson } from '../output/json.js';
import { addCommonOptions, type Wrap } from './common.js';
import { addModelOptions, type ModelRunFlags } from './model-run.js';
import { engineToJSON } from '../engines/activate.js';
import { openSamplingModel } from '../sampling/model.js';
import {
  DEFAULT_QUEUE_NAME,
  DEFAULT_STALL_MS,
  parseQueueName,
  parseQueueUrl,
  redactUrl,
  stallMsFrom,
} from '../sampling/queue.js';

export interface WorkerFlags extends ModelRunFlags {
  queue?: string;
  queueName?: string;
  stallMs?: string;
  maxIdle?: string;
  backend?: string;
  policy?: string;
  epsilon?: string;
}

export function workerCommand(wrap: Wrap): Command {
  const cmd = new Command('worker').description(
    "render 'nextscale sample --queue' jobs from a BullMQ/Redis queue with this machine's model files",
  );
  cmd
    .requiredOption(
      '--queue <url>',
      'the Redis the coordinator uses (redis://[user:password@]host:port, rediss:// for TLS)',
    )
    .option('--queue-name <name>', `BullMQ queue name (default ${DEFAULT_QUEUE_NAME})`)
    .option(
      '--stall-ms <ms>',
      `lock time of a job; a job whose worker died is retried after it (default NEXTSCALE_STALL_MS, else ${DEFAULT_STALL_MS}); must exceed the longest step of one batch`,
    )
    .option('--max-idle <seconds>', 'exit (0) after this long without a job (default: run until interrupted)');
  addModelOptions(cmd);
  cmd
    .option('--backend <id>', 'attention backend (must match the set)')
    .option('--policy <name>', 'attention policy (must match the set)')
    .option('--epsilon <x>', 'target attention error (must match the set)');
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: WorkerFlags) => runWorkerCommand(ctx, flags)));
}

export async function runWorkerCommand(ctx: Context, flags: WorkerFlags): Promise<number> {
  if (!flags.queue) throw usageError('no --queue given', 'pass --queue redis://host:port');
  parseQueueUrl(flags.queue);
  const name = parseQueueName(flags.queueName ?? DEFAULT_QUEUE_NAME);
  const stallMs = stallMsFrom(flags.stallMs, ctx.env);
  const maxIdleMs =
    flags.maxIdle === undefined ? undefined : parseNumber(flags.maxIdle, '--max-idle', { positive: true }) * 1000;
  // Redis first: an unreachable queue fails in seconds, before the model is loaded.
  // ioredis and BullMQ are loaded only by the queue commands (the others start without them).
  const { connectRedis, watchRedis } = await import('../sampling/redis.js');
  const { runWorker } = await import('../sampling/worker.js');
  const connection = await connectRedis(flags.queue);
  // A worker waits out Redis outages (it may run for days); it only says so.
  const watch = watchRedis(connection, flags.queue, { warn: ctx.warn });
  try {
    const sm = await openSamplingModel(ctx, flags);
    try {
      const report = await runWorker(ctx, sm, connection, { name, stallMs, maxIdleMs });
      if (ctx.json)
        writeJson(ctx.stdout, {
          command: 'worker',
          queue: { url: redactUrl(flags.queue), name, stallMs },
          engine: engineToJSON(sm.engine),
          model: sm.files,
          ...report,
        });
      else
        ctx.out(
          `worker ${report.worker}: ${report.jobs} jobs, ${report.images} images (stopped: ${report.stoppedBecause})`,
        );
      if (report.stoppedBecause === 'interrupted') throw new AbortedError();
      return 0;
    } finally {
      await sm.model.dispose();
    }
  } finally {
    watch.dispose();
    connection.disconnect();
  }
}
