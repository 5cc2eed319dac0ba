/**
 * The worker's program, as source text (so the bundle needs no separate worker file and no path to one). It
 * instantiates the kernels over the shared memory, says it is ready, then sleeps in Atomics.wait on its "go" slot;
 * for each new epoch it runs its share of the job (the same `runJob` as the calling thread: its source text is
 * pasted in, so it must be self-contained) and reports "done". A worker blocked in Atomics.wait needs no event
 * loop, and an unref'd Node worker does not keep the process alive.
 */

/** A package's job runner: this thread's share of the job in `ctl`; `slot` 0 is the calling thread, 1.. workers. */
export type JobRunner<Ex> = (ctl: Int32Array, ex: Ex, slot: number) => void;

export function workerSource(runJob: JobRunner<never>): string {
  return `'use strict';
const runJob = ${runJob.toString()};
function boot(data) {
  const { memory, module, slot } = data;
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctl = new Int32Array(memory.buffer, 0, 16384);
  const go = 64 + slot * 4;
  let seen = Atomics.load(ctl, go);
  Atomics.store(ctl, go + 2, 1);
  Atomics.notify(ctl, go + 2);
  for (;;) {
    Atomics.wait(ctl, go, seen);
    if (Atomics.load(ctl, 0) !== 0) break;
    const epoch = Atomics.load(ctl, go);
    if (epoch === seen) continue;
    seen = epoch;
    try {
      runJob(ctl, ex, slot);
    } catch (err) {
      // a trap must not leave the calling thread waiting forever: flag it, report done
      Atomics.store(ctl, 21, 1);
    }
    Atomics.store(ctl, go + 1, epoch);
    Atomics.notify(ctl, go + 1);
  }
  Atomics.store(ctl, go + 2, 0);
}
boot(require('node:worker_threads').workerData);
`;
}
