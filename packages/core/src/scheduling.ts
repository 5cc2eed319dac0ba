/**
 * One macrotask turn. Generation is CPU-bound and its awaits resolve as microtasks, which never let
 * signal handlers or UI events run; yielding a real turn between attention calls lets an AbortSignal
 * set by Ctrl-C or a cancel button be seen within one call instead of after the whole generation.
 */
export function nextTurn(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (g.setImmediate) return new Promise((resolve) => g.setImmediate!(resolve));
  if (g.MessageChannel) {
    return new Promise((resolve) => {
      const channel = new g.MessageChannel!();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
