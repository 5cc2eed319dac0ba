/**
 * Download progress on stderr in the CLI's progress style: a bar per file on a terminal (bytes,
 * rate, ETA), one line per step with --verbose elsewhere, and nothing on stdout. Retries and the use of
 * the cache without asking the hub are always said (as warnings), since they explain a slow or stale run.
 */
import cliProgress from 'cli-progress';
import { formatBytes, type HubEvent } from '@nextscale/hub';
import type { Context } from '../context.js';

export interface DownloadReporter {
  onEvent(e: HubEvent): void;
  stop(): void;
}

const seconds = (s: number) =>
  s < 90 ? `${Math.max(0, Math.round(s))} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;

export function downloadReporter(ctx: Context): DownloadReporter {
  const bar = ctx.interactive && !ctx.verbose;
  const multi = bar
    ? new cliProgress.MultiBar(
        {
          stream: ctx.stderr as NodeJS.WritableStream as never,
          format: '{stage} |{bar}| {percentage}% {detail}',
          barsize: 30,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          noTTYOutput: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  // Ctrl-C during a download keeps the partial file: the interrupt line says so instead of "nothing was written".
  const noteBefore = ctx.interruptNote;
  const files = new Map<string, { start: number; from: number; bar?: cliProgress.SingleBar; lastTenth: number }>();
  const pending = new Set<string>();
  let stopped = false;

  const detail = (f: { start: number; from: number }, loaded: number, total: number) => {
    const elapsed = (performance.now() - f.start) / 1000;
    const rate = elapsed > 0 ? (loaded - f.from) / elapsed : 0;
    const eta = rate > 0 ? seconds((total - loaded) / rate) : '?';
    return `${formatBytes(loaded)}/${formatBytes(total)}, ${formatBytes(rate)}/s, ETA ${eta}`;
  };

  return {
    onEvent(e) {
      if (stopped) return;
      switch (e.status) {
        case 'initiate':
          return;
        case 'download': {
          const f = {
            start: performance.now(),
            from: e.resumeFrom,
            lastTenth: -1,
            bar: multi?.create(Math.max(1, e.total), e.resumeFrom, { stage: e.file, detail: '' }),
          };
          files.set(e.file, f);
          pending.add(e.file);
          ctx.interruptNote = `the partial download of ${e.file} is kept in the cache; run the same command again to resume it`;
          if (!bar)
            ctx.log(
              `downloading ${e.repo}/${e.file} (${formatBytes(e.total)})${e.resumeFrom ? `, resuming at ${formatBytes(e.resumeFrom)}` : ''}`,
            );
          return;
        }
        case 'progress': {
          const f = files.get(e.file);
          if (!f) return;
          if (f.bar) f.bar.update(e.loaded, { stage: e.file, detail: detail(f, e.loaded, e.total) });
          else {
            const tenth = Math.floor(e.progress / 10);
            if (tenth > f.lastTenth && e.loaded < e.total)
              ctx.log(`${e.file} ${Math.floor(e.progress)}% (${detail(f, e.loaded, e.total)})`);
            f.lastTenth = tenth;
          }
          return;
        }
        case 'retry':
          ctx.warn(
            `${e.repo}/${e.file}: ${e.reason}; trying again in ${seconds(e.delayMs / 1000)} (try ${e.attempt} of ${e.of})`,
          );
          return;
        case 'done': {
          pending.delete(e.file);
          if (e.offline) ctx.warn(`using the cached ${e.file} without checking the hub (${e.offline})`);
          const f = files.get(e.file);
          f?.bar?.update(e.bytes, { stage: e.file, detail: `${formatBytes(e.bytes)}, verified` });
          if (!e.cached && !bar) {
            const took = f ? (performance.now() - f.start) / 1000 : 0;
            ctx.log(
              `${e.file}: ${formatBytes(e.transferred)} downloaded in ${took.toFixed(1)} s${e.resumedFrom ? ` (resumed at ${formatBytes(e.resumedFrom)})` : ''}, SHA-256 verified`,
            );
          }
          return;
        }
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // A download that did not finish keeps its note for the interrupt line that follows.
      if (!pending.size) ctx.interruptNote = noteBefore;
      multi?.stop();
    },
  };
}

/** Runs `fetch` with its download events drawn on stderr, and the drawing stopped however it ends. */
export async function withDownloadProgress<T>(
  ctx: Context,
  fetch: (onEvent: (e: HubEvent) => void) => Promise<T>,
): Promise<T> {
  const progress = downloadReporter(ctx);
  try {
    return await fetch(progress.onEvent);
  } finally {
    progress.stop();
  }
}
