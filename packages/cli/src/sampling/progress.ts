/**
 * Progress of a sample set on stderr: a bar with the rate (images per second, over this run) and the
 * ETA on a terminal; with --verbose on a non-terminal one plain line per stored batch (indented
 * `  n/total …`, the form of the other commands' progress lines); otherwise nothing.
 */
import cliProgress from 'cli-progress';
import type { Context } from '../context.js';

export interface SetProgress {
  update(done: number, note?: string): void;
  stop(): void;
}

export function createSetProgress(ctx: Context, total: number, doneAtStart: number): SetProgress {
  const t0 = performance.now();
  const rate = (done: number) => {
    const s = (performance.now() - t0) / 1000;
    return s > 0 ? (done - doneAtStart) / s : 0;
  };
  const eta = (done: number) => {
    const r = rate(done);
    return r > 0 ? formatSeconds((total - done) / r) : '?';
  };
  if (ctx.interactive && !ctx.verbose) {
    const bar = new cliProgress.SingleBar(
      {
        stream: ctx.stderr as never,
        format: 'sampling |{bar}| {value}/{total} images | {rate} img/s | ETA {etaText} {note}',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, doneAtStart, { rate: '-', etaText: '?', note: '' });
    let stopped = false;
    return {
      update(done, note = '') {
        if (!stopped) bar.update(done, { rate: rate(done).toFixed(2), etaText: eta(done), note });
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }
  if (ctx.verbose) {
    return {
      update: (done, note) =>
        ctx.stderr.write(
          `  ${done}/${total} images, ${rate(done).toFixed(2)} img/s, ETA ${eta(done)}${note ? ` ${note}` : ''}\n`,
        ),
      stop: () => undefined,
    };
  }
  return { update: () => undefined, stop: () => undefined };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
