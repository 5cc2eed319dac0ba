/**
 * Progress on stderr: a bar over the scales and one for decoding, drawn only when stderr is a TTY.
 * With --verbose on a non-TTY, one plain line per step instead; otherwise nothing.
 */
import cliProgress from 'cli-progress';
import type { Context } from '../context.js';

export interface Progress {
  scale(done: number, total: number, detail?: string): void;
  decode(state: 'start' | 'done'): void;
  stop(): void;
}

export function createProgress(ctx: Context): Progress {
  if (ctx.interactive && !ctx.verbose) return barProgress(ctx);
  if (ctx.verbose) {
    return {
      scale: (done, total, detail) => ctx.stderr.write(`scale ${done}/${total}${detail ? ` ${detail}` : ''}\n`),
      decode: (state) => ctx.stderr.write(state === 'start' ? 'decoding\n' : 'decoded\n'),
      stop: () => undefined,
    };
  }
  return { scale: () => undefined, decode: () => undefined, stop: () => undefined };
}

function barProgress(ctx: Context): Progress {
  const multi = new cliProgress.MultiBar(
    {
      stream: ctx.stderr as NodeJS.WritableStream as never,
      format: '{stage} |{bar}| {value}/{total} {detail}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let scales: cliProgress.SingleBar | undefined;
  let decode: cliProgress.SingleBar | undefined;
  let stopped = false;
  return {
    scale(done, total, detail = '') {
      if (stopped) return;
      scales ??= multi.create(total, 0, { stage: 'scales', detail: '' });
      scales.setTotal(total);
      scales.update(done, { stage: 'scales', detail });
    },
    decode(state) {
      if (stopped) return;
      decode ??= multi.create(1, 0, { stage: 'decode', detail: '' });
      decode.update(state === 'done' ? 1 : 0, { stage: 'decode', detail: state === 'done' ? '' : 'VQ-VAE decoder' });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}
