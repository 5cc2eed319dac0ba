/**
 * Ctrl-C: the first SIGINT aborts the running command through an AbortSignal (the command stops at
 * its next check, writes nothing and exits 130); a second one exits at once.
 */
import { EXIT } from './errors.js';

export interface Interrupts {
  signal: AbortSignal;
  dispose(): void;
}

export function handleInterrupts(onFirst?: () => void): Interrupts {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) {
      process.exit(EXIT.interrupted);
    }
    onFirst?.();
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
