/**
 * Ctrl-C and SIGTERM: the first one aborts the running command through an AbortSignal (every stage
 * checks it, parsing included: the .pth unpickler yields to the event loop as it goes), so the command
 * stops, writes nothing and exits 130. If it has not ended within a grace period (a long synchronous
 * kernel, a stuck backend), or when a second signal comes, the process exits at once, after removing
 * the temporary files of writes in progress, so nothing half-written is left behind either way.
 */
import { rmSync } from 'node:fs';
import { EXIT } from './errors.js';

export interface Interrupts {
  signal: AbortSignal;
  dispose(): void;
}

/** How long an aborted command may take to unwind by itself. */
export const INTERRUPT_GRACE_MS = 1500;

/** Temporary files being written now (atomic writes), removed on a forced exit. */
const pending = new Set<string>();

export function trackTemporary(path: string): () => void {
  pending.add(path);
  return () => pending.delete(path);
}

function forceExit(): never {
  for (const p of pending) rmSync(p, { force: true });
  process.stderr.write('nextscale: interrupted — nothing was written\n');
  process.exit(EXIT.interrupted);
}

export function handleInterrupts(onFirst?: () => void): Interrupts {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const handler = () => {
    if (controller.signal.aborted) forceExit();
    onFirst?.();
    controller.abort();
    timer = setTimeout(forceExit, INTERRUPT_GRACE_MS);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
