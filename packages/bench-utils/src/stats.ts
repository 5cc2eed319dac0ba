/** Timing helpers for benchmarks (one warm-up, then the median of `reps` runs) and the machine they ran on. */
import os from 'node:os';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function timeMedian(
  fn: () => Promise<unknown> | unknown,
  reps: number,
  signal?: AbortSignal,
): Promise<{ median: number; runs: number[] }> {
  await fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (signal?.aborted) break;
    const t0 = performance.now();
    await fn();
    runs.push((performance.now() - t0) / 1000);
  }
  return { median: median(runs), runs };
}

export function machine(): Record<string, string | number> {
  const cpu = os.cpus()[0];
  return {
    cpu: cpu?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
}
