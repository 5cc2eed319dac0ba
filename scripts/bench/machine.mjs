// What a benchmark ran on, printed with every result.
import os from 'node:os';

export function machine() {
  const cpu = os.cpus()[0];
  return { cpu: cpu?.model ?? 'unknown', cores: os.availableParallelism?.() ?? os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${os.platform()} ${os.arch()}` };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs fn once to warm up, then `reps` timed runs; returns the median seconds. */
export async function timeMedian(fn, reps = 5) {
  await fn();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { median: median(times), runs: times.length };
}
