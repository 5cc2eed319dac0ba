/**
 * `nextscale sample`: an evaluation-scale sample set (FID/IS): `--per-class` images of each class, one
 * PNG each in `--out`, a manifest, and at the end the `.npz` OpenAI's evaluation toolkit reads. Running
 * the same command again resumes; `--queue redis://…` spreads the work over `nextscale worker`s.
 */
import { Command } from 'commander';
import { throwIfAborted } from '@nextscale/core';
import type { Context } from '../context.js';
import { parseNumber } from '../config/resolve.js';
import { usageError } from '../errors.js';
import { parseClasses } from '../model/classes.js';
import { writeJson } from '../output/json.js';
import { displayPath } from '../util/paths.js';
import { addCommonOptions, collect, type Wrap } from './common.js';
import { addModelOptions, type ModelRunFlags } from './model-run.js';
import { engineToJSON } from '../engines/activate.js';
import { sampleLocally } from '../sampling/local.js';
import { openSamplingModel } from '../sampling/model.js';
import { MAX_PER_CLASS } from '../sampling/plan.js';
import { createSetProgress } from '../sampling/progress.js';
import {
  DEFAULT_SAMPLE_BATCH,
  defaultNpzPath,
  defaultSampleBatch,
  refuseBatchThatCannotFit,
  refuseSetThatCannotFit,
  SampleSet,
} from '../sampling/set.js';
import type { CoordinatorReport } from '../sampling/coordinator.js';
import { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_WAIT_S, parseQueueName, parseQueueUrl } from '../sampling/queue.js';
import { modelShapeOf } from '../limits/memory.js';
// Recorded in the manifest for information.
import { VERSION } from '../package-info.js';
import path from 'node:path';

export interface SampleFlags extends ModelRunFlags {
  perClass?: string;
  classes?: string[];
  batch?: string;
  out?: string;
  npz?: string;
  queue?: string;
  queueName?: string;
  queueOutage?: string;
  queueWait?: string;
  force?: boolean;
}

export function addFidSamplingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--seed <n>',
      'seed of the set; each image draws from its own seed derived from (seed, class, index) (default 0)',
    )
    .option('--cfg <x>', 'classifier-free guidance scale (default 1.5, the reference FID setting)')
    .option('--top-k <n>', 'top-k sampling, 0 = off (default 900)')
    .option('--top-p <x>', 'top-p sampling, 0 = off (default 0.96)')
    .option('--more-smooth', "Gumbel-softmax smoothing of the token maps (VAR's more_smooth; default off)")
    .option('--no-more-smooth', 'turn more_smooth off even if the config turns it on')
    .option('--backend <id>', 'use exactly this attention backend (explicit policy)')
    .option('--policy <name>', 'attention policy: norm | priority | explicit')
    .option('--epsilon <x>', 'target attention error for approximate backends (norm policy)');
}

export function sampleCommand(wrap: Wrap): Command {
  const cmd = new Command('sample').description(
    'an evaluation sample set: PNGs per class, a manifest and the .npz for FID/IS; resumable, optionally over a BullMQ/Redis queue',
  );
  cmd
    .requiredOption('--per-class <n>', 'images per class (the reference uses 50)')
    .option(
      '--classes <list>',
      'class numbers or names; repeatable or a comma list (default: every class of the model)',
      collect,
    )
    .option(
      '-b, --batch <n>',
      `images per forward pass (locally) or per queue job (default ${DEFAULT_SAMPLE_BATCH}, or the most that fit in memory if fewer)`,
    )
    .requiredOption('-o, --out <folder>', 'folder for the PNGs and manifest.json')
    .option('--npz <file>', 'the packed set (default: <folder>.npz)')
    .option('--force', "overwrite an existing .npz that is not this set's")
    .option(
      '--queue <url>',
      "coordinate 'nextscale worker's over BullMQ on this Redis (redis://[user:password@]host:port, rediss:// for TLS) instead of sampling here",
    )
    .option('--queue-name <name>', `BullMQ queue name (default ${DEFAULT_QUEUE_NAME})`)
    .option(
      '--queue-outage <seconds>',
      'give up when Redis stays unreachable this long mid-run (default 60; the images stored so far are kept)',
    )
    .option(
      '--queue-wait <seconds>',
      `give up when no image comes back from the queue for this long (default ${DEFAULT_QUEUE_WAIT_S}; the images stored so far are kept)`,
    );
  addModelOptions(cmd);
  addFidSamplingOptions(cmd);
  addCommonOptions(cmd);
  return cmd.action(wrap((ctx, flags: SampleFlags) => runSample(ctx, flags)));
}

export async function runSample(ctx: Context, flags: SampleFlags): Promise<number> {
  const tStart = performance.now();
  // Everything checkable without the model fails first.
  const perClass = withFix(
    () => parseNumber(flags.perClass ?? '', '--per-class', { int: true, positive: true, max: MAX_PER_CLASS }),
    'pass --per-class <n>, a positive integer (the reference uses 50)',
  );
  // undefined: the default, which needs the model (defaultSampleBatch)
  const explicitBatch =
    flags.batch === undefined
      ? undefined
      : withFix(
          () => parseNumber(flags.batch!, '--batch', { int: true, positive: true }),
          'pass --batch <n>, a positive integer',
        );
  if (!flags.out) throw usageError('no --out folder given', 'pass --out <folder>');
  const out = path.resolve(ctx.cwd, flags.out);
  const npz = flags.npz ? path.resolve(ctx.cwd, flags.npz) : defaultNpzPath(out);
  if (flags.queue) parseQueueUrl(flags.queue);
  const outageS = withFix(
    () => parseNumber(flags.queueOutage ?? '60', '--queue-outage', { positive: true }),
    'pass --queue-outage <seconds>, a positive number',
  );
  const waitS = withFix(
    () => parseNumber(flags.queueWait ?? String(DEFAULT_QUEUE_WAIT_S), '--queue-wait', { positive: true }),
    'pass --queue-wait <seconds>, a positive number',
  );
  const queueName = parseQueueName(flags.queueName ?? DEFAULT_QUEUE_NAME);
  // Redis before the model: an unreachable queue fails in seconds.
  // ioredis and BullMQ are loaded only here, so the other commands start without them.
  const connection = flags.queue ? await (await import('../sampling/redis.js')).connectRedis(flags.queue) : undefined;

  let sm;
  try {
    sm = await openSamplingModel(ctx, flags);
  } catch (err) {
    connection?.disconnect();
    throw err;
  }
  const { model } = sm;
  try {
    const numClasses = model.config.numClasses;
    const classes = flags.classes?.length
      ? parseClasses(flags.classes, numClasses, sm.classNames)
      : Array.from({ length: numClasses }, (_, i) => i);
    if (new Set(classes).size !== classes.length)
      throw usageError('--classes names a class twice', 'name each class once');
    refuseSetThatCannotFit(perClass, classes.length);
    const batch = explicitBatch ?? defaultSampleBatch(modelShapeOf(model), sm.render.cfg !== 1);
    refuseBatchThatCannotFit(model, batch, sm.render.cfg !== 1);
    const imageSize = model.vae.imageSize;
    const set = await SampleSet.open(
      { out, npz, force: flags.force, perClass, classes, seed: sm.settings.seed.value, imageSize },
      sm,
      VERSION,
    );
    throwIfAborted(ctx.signal);

    ctx.interruptNote = `the images finished so far are kept in ${displayPath(out, ctx.cwd)}; run the same command again to finish the set`;
    const progress = createSetProgress(ctx, set.plan.length, set.done);
    const tSample = performance.now();
    let made: number;
    let queue: CoordinatorReport | undefined;
    try {
      if (flags.queue && connection) {
        const { coordinate } = await import('../sampling/coordinator.js');
        const { watchRedis } = await import('../sampling/redis.js');
        const watch = watchRedis(connection, flags.queue, {
          warn: ctx.warn,
          giveUpAfterMs: outageS * 1000,
          whatIsKept: `the images stored so far are kept in ${displayPath(out, ctx.cwd)}`,
        });
        try {
          queue = await Promise.race([
            coordinate(ctx, set, {
              connection,
              url: flags.queue,
              name: queueName,
              batch,
              progress,
              imageSize,
              waitMs: waitS * 1000,
            }),
            watch.gaveUp,
          ]);
        } finally {
          watch.dispose();
        }
        made = queue.stored;
      } else {
        made = await sampleLocally(set, model, sm.render, batch, progress, ctx.signal);
      }
    } finally {
      progress.stop();
      // What is on disk is the truth; the manifest catches up even when the run was interrupted.
      await set.saveManifest(true).catch(() => undefined);
    }
    const sampleMs = performance.now() - tSample;
    const written = await set.finish(ctx.signal);

    if (ctx.json) {
      writeJson(ctx.stdout, {
        command: 'sample',
        mode: flags.queue ? 'queue' : 'local',
        out,
        manifest: path.join(out, 'manifest.json'),
        npz: written,
        total: set.plan.length,
        made,
        alreadyDone: set.doneAtStart,
        duplicates: set.folder.duplicates,
        engine: engineToJSON(sm.engine),
        model: set.identity.model,
        settings: { ...set.identity.settings, batch },
        queue: queue ?? null,
        timings: {
          loadMs: Math.round(sm.loadMs),
          sampleMs: Math.round(sampleMs),
          imagesPerSecond: made ? Math.round((made / (sampleMs / 1000)) * 1000) / 1000 : null,
          totalMs: Math.round(performance.now() - tStart),
        },
      });
    } else {
      const [n, h, w] = written.shape;
      ctx.out(
        `${displayPath(out, ctx.cwd)}: ${set.plan.length} images (${made} made now, ${set.doneAtStart} already there); wrote ${displayPath(written.path, ctx.cwd)} (arr_0 uint8 ${n}×${h}×${w}×3)`,
      );
    }
    return 0;
  } finally {
    connection?.disconnect();
    await model.dispose();
  }
}

/** A parse error of this command's own flags, with a fix that says what to pass. */
function withFix<T>(parse: () => T, fix: string): T {
  try {
    return parse();
  } catch (err) {
    throw usageError((err as Error).message, fix);
  }
}
