/**
 * test-support's hang watchdog: a CLI under test that has not exited in time ends with reports of where each of its
 * processes was, instead of nothing; one that exits in time runs exactly as before.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from './test-support.js';

const linux = process.platform === 'linux';

/** Whether `pid` is a live process (not gone, not a zombie). */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

describe('runNode / run: the hang watchdog', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-watchdog-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a child that exits in time: its status, stdout and stderr as they were, NODE_OPTIONS kept', () => {
    const script = path.join(dir, 'quick.js');
    writeFileSync(
      script,
      "process.stdout.write('out:' + process.env.NODE_OPTIONS);\nprocess.stderr.write('err');\nprocess.exitCode = 3;\n",
    );
    const r = runNode([script], { env: { NODE_OPTIONS: '--max-old-space-size=300' }, timeoutMs: 20_000 });
    expect(r.status).toBe(3);
    expect(r.stderr).toBe('err');
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toMatch(/^out:--max-old-space-size=300 /);
    if (linux) expect(r.stdout).toContain('--report-on-signal --report-signal=SIGUSR2');
  });

  it.runIf(linux)(
    'a hung child and grandchild: reported (free and blocked main threads, a blocked worker), then killed',
    () => {
      // The child idles in its event loop (a timer) and starts a grandchild, as bin/allocator.js relaunches the CLI.
      // The grandchild's worker and main thread block in Atomics.wait, as the wasm pool's do: no SIGUSR2 report can
      // come from it, only one through the inspector. The function names appear in stderr only through the reports.
      const script = path.join(dir, 'hang.js');
      writeFileSync(
        script,
        `'use strict';
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');
function idleInTheEventLoop() {
  setInterval(() => {}, 1000);
  spawn(process.execPath, [__filename, 'grandchild'], { stdio: 'inherit' });
}
function mainWaitsForever() {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
function startWorker() {
  const src = "function workerWaitsForever() { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }" +
    "require('node:worker_threads').parentPort.postMessage('up'); workerWaitsForever();";
  new Worker(src, { eval: true }).once('message', () => {
    process.stdout.write('grandchild ' + process.pid + '\\n');
    mainWaitsForever();
  });
}
if (process.argv[2] === 'grandchild') startWorker();
else {
  process.stdout.write('child ' + process.pid + '\\n');
  idleInTheEventLoop();
}
`,
      );
      const t0 = Date.now();
      const r = runNode([script], { timeoutMs: 4000 });
      expect(Date.now() - t0).toBeLessThan(60_000);
      expect(r.timedOut, r.stderr).toBe(true);
      expect(r.status).toBeNull();
      expect(r.signal).toBe('SIGKILL');
      const child = Number(/child (\d+)/.exec(r.stdout)?.[1]);
      const grandchild = Number(/grandchild (\d+)/.exec(r.stdout)?.[1]);
      expect(child, r.stdout).toBeGreaterThan(0);
      expect(grandchild, r.stdout).toBeGreaterThan(0);

      const err = r.stderr;
      expect(err).toContain(`the CLI (pid ${child}) had not exited after 4 s`);
      // the child took SIGUSR2 in its event loop: a report with its timer among the active handles
      const childPart = err.slice(err.indexOf(`--- pid ${child}:`), err.indexOf(`--- pid ${grandchild}:`));
      expect(childPart).toContain(`report of pid ${child} (Signal)`);
      expect(childPart).toMatch(/active libuv handles: .*timer/);
      // the grandchild could not: its report came through the inspector, with where both its threads were blocked
      const grandPart = err.slice(err.indexOf(`--- pid ${grandchild}:`));
      expect(grandPart).toContain(`report of pid ${grandchild} (API)`);
      expect(grandPart).toMatch(/JavaScript: [^\n]*\n(\s+at [^\n]*\n)*\s+at mainWaitsForever /);
      expect(grandPart).toMatch(/worker thread 1: JavaScript: [^\n]*\n(\s+at [^\n]*\n)*\s+at workerWaitsForever /);
      expect(grandPart).toMatch(/native stack: \S/);
      // and both are gone (or dead, waiting to be reaped by whoever adopted the grandchild)
      for (const pid of [child, grandchild]) expect(running(pid), `pid ${pid}`).toBe(false);
    },
  );
});
