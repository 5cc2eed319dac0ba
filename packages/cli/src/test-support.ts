/**
 * Helpers for the tests, which drive the built binary (`node bin/nextscale.js …`) as a subprocess.
 * Not part of the bundle (tsup builds src/index.ts only).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
// The library calls in the tests (loadVAR, model.generate) must compute on the dense engine the CLI picks by
// default: core alone has only its TypeScript reference, so register the WebAssembly engine here as the CLI does.
import '@nextscale/engine-wasm/register';

export const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(CLI_DIR, 'bin', 'nextscale.js');
export const PACKAGES = path.resolve(CLI_DIR, '..');
export const FIXTURES = path.join(PACKAGES, 'core', 'fixtures', 'var-tiny');
export const fixture = (name: string) => path.join(FIXTURES, name);

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The signal that ended the CLI (the watchdog's SIGKILL when it hung). */
  signal?: NodeJS.Signals | null;
  /** The CLI had not exited in time: the watchdog took reports of its processes (summed up at the end of stderr). */
  timedOut?: boolean;
}

/** How long run() lets the CLI run before the watchdog steps in. */
export const RUN_TIMEOUT_MS = 120_000;
/** start()'s limit: below vitest's 120 s test timeout, so that the reports reach the failing test's message. */
export const START_TIMEOUT_MS = 100_000;

/** The environment the CLI runs in: the caller's, less NEXTSCALE_* unless given. */
function cliEnv(given: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
  Object.assign(env, given);
  return env;
}

/** Runs the CLI; the environment is cleaned of NEXTSCALE_* unless given. */
export function run(
  args: string[],
  o: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): RunResult {
  return runNode([BIN, ...args], o);
}

/**
 * Runs `node …argv` as run() runs the CLI, under the hang watchdog (see WATCHDOG): synchronous, like spawnSync, and
 * a child that has not exited after `timeoutMs` ends with reports of its processes in stderr instead of nothing.
 */
export function runNode(
  argv: string[],
  o: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): RunResult {
  const env = cliEnv(o.env);
  const timeoutMs = o.timeoutMs ?? RUN_TIMEOUT_MS;
  const watch = watched(env, timeoutMs);
  watch?.start();
  try {
    const r = spawnSync(process.execPath, argv, {
      cwd: o.cwd ?? CLI_DIR,
      env,
      encoding: 'utf8',
      // without the watchdog (not Linux) as before; with it, only a backstop should the watchdog itself fail
      timeout: watch ? timeoutMs + 60_000 : timeoutMs,
    });
    const timedOut = watch ? watch.fired() : (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    return {
      status: r.status,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr + (watch?.summary() ?? ''),
      timedOut,
    };
  } finally {
    watch?.done();
  }
}

export function runJson<T = Record<string, unknown>>(
  args: string[],
  o: Parameters<typeof run>[1] = {},
): { result: RunResult; doc: T } {
  const result = run([...args, '--json'], o);
  let doc: T;
  try {
    doc = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${result.status}):\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return { result, doc };
}

/** Starts the CLI and resolves when it exits; `onStderr` may signal it. */
export function start(
  args: string[],
  o: {
    cwd?: string;
    timeoutMs?: number;
    onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const env = cliEnv();
    const watch = watched(env, o.timeoutMs ?? START_TIMEOUT_MS);
    const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd ?? CLI_DIR, env });
    watch?.start();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      o.onStderr?.(stderr, (sig) => child.kill(sig));
    });
    child.on('close', (status, signal) => {
      watch?.done();
      resolve({ status, signal, stdout, stderr: stderr + (watch?.summary() ?? ''), timedOut: watch?.fired() ?? false });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The hang watchdog. Once in a while a CLI under test hung (no output, killed by the old spawnSync timeout) and left
// no clue where. Now every CLI a test starts runs with NODE_OPTIONS asking for a Node diagnostic report on SIGUSR2
// and an inspector port chosen at random should one be opened (neither does anything until signalled), and a thread
// of the test process times it. Past its limit, a `node -e WATCHDOG` process (started only then) takes a report of
// the CLI and of each process under it (the model commands relaunch the CLI in a child, bin/allocator.js):
//  1. SIGUSR2: Node writes the report from the event loop, so only a process whose main thread is free does;
//  2. for the others (a main thread blocked in synchronous code, e.g. the wasm pool's Atomics.wait): SIGUSR1 opens
//     the inspector, which runs `process.report.writeReport()` in between the blocked code (V8 interrupts), so the
//     report's JavaScript stack shows where it was blocked;
// then it writes a summary of each report (JavaScript stack, first native frames, active libuv handles, each worker
// thread's JavaScript stack) and of each thread's state (/proc), and kills the processes; run() and start() add the
// summary to the stderr they return.
// Linux only (/proc finds the processes); elsewhere the old timeout stands. The spawnSync that the test process
// is blocked in is what makes this a thread (a timer there could not run) and a process only on a hang (no cost
// to every run).
// ---------------------------------------------------------------------------------------------------------------

/** Tells the watchdog which child of the test process is the CLI it times (WATCHDOG spells the name out too). */
const MARKER_VAR = 'TEST_SUPPORT_WATCHDOG';
const MARKER_PREFIX = `${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
let watchdog: Worker | undefined;
let watches = 0;

/**
 * Arms the watchdog for a CLI about to be started with `env` (which it adds to): `start()` once it is spawned,
 * `done()` once it has exited; `fired()`: whether the watchdog took it down, and then `summary()` its reports (once;
 * '' otherwise). null where there is no watchdog.
 */
function watched(
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): { start(): void; done(): void; fired(): boolean; summary(): string } | null {
  if (process.platform !== 'linux') return null;
  if (!watchdog) {
    watchdog = new Worker(WATCHDOG, { eval: true, workerData: { script: WATCHDOG } });
    watchdog.unref();
    watchdog.on('error', (e) => process.stderr.write(`test-support: the hang watchdog failed: ${String(e)}\n`));
  }
  const w = watchdog;
  const id = ++watches;
  const marker = `${MARKER_PREFIX}.${id}`;
  const reportDir = path.join(os.tmpdir(), `nextscale-cli-hang-${marker}`); // made by the watchdog, when needed
  const flag = new Int32Array(new SharedArrayBuffer(4));
  env[MARKER_VAR] = marker;
  env.NODE_OPTIONS = [
    env.NODE_OPTIONS,
    '--report-on-signal',
    '--report-signal=SIGUSR2',
    `--report-directory=${JSON.stringify(reportDir)}`,
    '--inspect-port=0',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    start: () => w.postMessage({ op: 'watch', id, marker, timeoutMs, reportDir, flag }),
    done: () => w.postMessage({ op: 'done', id }),
    fired: () => Atomics.load(flag, 0) === 1,
    summary: () => {
      if (Atomics.load(flag, 0) !== 1) return '';
      let text: string;
      try {
        text = readFileSync(path.join(reportDir, 'summary.txt'), 'utf8');
      } catch {
        text = `\n[test-support watchdog] the CLI had not exited after ${timeoutMs / 1000} s; no summary of its reports was written (see the test process's stderr)\n`;
      }
      rmSync(reportDir, { recursive: true, force: true });
      return text;
    },
  };
}

/**
 * Both halves of the watchdog, plain CommonJS: as a worker thread of the test process (`eval`), the timers; as a
 * process (`node -e WATCHDOG '{"pid":…}'`), the reports and the kill. Self-contained: it is source text.
 */
const WATCHDOG = String.raw`'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const wt = require('node:worker_threads');

const read = (f) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};
const ls = (d) => {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(f, ms) {
  for (const t0 = Date.now(); ; await sleep(100)) {
    const v = await f();
    if (v || Date.now() - t0 > ms) return v;
  }
}
const children = (pid) =>
  ls('/proc/' + pid + '/task').flatMap((t) =>
    read('/proc/' + pid + '/task/' + t + '/children').split(' ').filter(Boolean).map(Number),
  );
// state and cpu ticks from /proc/<pid>[/task/<tid>]/stat (the name in parentheses may hold anything)
const stat = (dir) => {
  const s = read(dir + '/stat');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { name: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), state: f[0], ticks: Number(f[11]) + Number(f[12]) };
};
const alive = (pid) => ['R', 'S', 'D', 'T', 't'].includes(stat('/proc/' + pid).state);

if (!wt.isMainThread) {
  // the test process's thread: one timer per CLI started
  const timers = new Map();
  wt.parentPort.on('message', (m) => {
    if (m.op === 'done') {
      clearTimeout(timers.get(m.id));
      timers.delete(m.id);
      return;
    }
    timers.set(
      m.id,
      setTimeout(() => {
        timers.delete(m.id);
        const entry = 'TEST_SUPPORT_WATCHDOG=' + m.marker;
        const pid = children(process.pid).find((c) => read('/proc/' + c + '/environ').split('\0').includes(entry));
        if (pid === undefined || !alive(pid)) return; // exited meanwhile
        Atomics.store(m.flag, 0, 1);
        const ws = typeof WebSocket === 'undefined' && process.allowedNodeEnvironmentFlags.has('--experimental-websocket');
        const args = ['-e', wt.workerData.script, JSON.stringify({ pid, timeoutMs: m.timeoutMs, reportDir: m.reportDir })];
        spawn(process.execPath, ws ? ['--experimental-websocket', '--no-warnings', ...args] : args, { stdio: 'inherit' });
      }, m.timeoutMs),
    );
  });
} else {
  diagnose(JSON.parse(process.argv[1])).catch((e) => {
    process.stderr.write('test-support watchdog: ' + (e && e.stack ? e.stack : e) + '\n');
    process.exitCode = 1;
  });
}

async function diagnose({ pid, timeoutMs, reportDir }) {
  if (!alive(pid)) return; // it exited as the timer fired: run() finds no summary and says so
  const tree = [];
  const walk = (p) => {
    tree.push(p);
    for (const c of children(p)) walk(c);
  };
  walk(pid);
  const lines = [];
  const say = (s) => lines.push(s);
  const cmd = (p) => read('/proc/' + p + '/cmdline').split('\0').filter(Boolean).slice(1, 5).join(' ');
  say('');
  say(
    '[test-support watchdog] the CLI (pid ' + pid + ') had not exited after ' + timeoutMs / 1000 + ' s; ' +
      'reports of its processes follow, then they are killed. Processes: ' +
      tree.map((p) => p + ' (' + cmd(p) + ')').join(', '),
  );
  fs.mkdirSync(reportDir, { recursive: true });
  const reportOf = (p) => {
    for (const f of ls(reportDir)) {
      if (f.split('.')[3] !== String(p)) continue; // report.<date>.<time>.<pid>.<thread>.<seq>.json
      try {
        return JSON.parse(read(path.join(reportDir, f)));
      } catch {} // still being written
    }
    return null;
  };
  const signal = (p, s) => {
    try {
      process.kill(p, s);
    } catch {}
  };
  for (const p of tree) signal(p, 'SIGUSR2');
  await until(() => tree.every(reportOf), 2000);
  for (const p of tree) if (!reportOf(p)) await viaInspector(p, reportOf, say);
  for (const p of tree) summary(p, reportOf(p), say);
  for (const f of ls(reportDir)) fs.rmSync(path.join(reportDir, f));
  // written before the kill, so complete when the test process sees the CLI exit
  fs.writeFileSync(path.join(reportDir, 'summary.txt'), lines.join('\n') + '\n');
  for (const p of tree.reverse()) signal(p, 'SIGKILL');
}

/** Listening TCP ports of process p (its sockets among /proc/<p>/net/tcp*). */
function listening(p) {
  const inodes = new Set();
  for (const fd of ls('/proc/' + p + '/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync('/proc/' + p + '/fd/' + fd));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  const ports = [];
  for (const f of ['tcp', 'tcp6']) {
    for (const line of read('/proc/' + p + '/net/' + f).split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A' && inodes.has(c[9])) ports.push(Number.parseInt(c[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** Opens p's inspector (SIGUSR1) and has it write p's report: works while p's main thread is blocked. */
async function viaInspector(p, reportOf, say) {
  if (typeof WebSocket === 'undefined') return say('pid ' + p + ': no report, and no WebSocket here to ask its inspector');
  const before = new Set(listening(p));
  try {
    process.kill(p, 'SIGUSR1');
  } catch {
    return;
  }
  const port = await until(() => listening(p).find((x) => !before.has(x)), 3000);
  if (!port) return say('pid ' + p + ': no report, and its inspector did not open');
  try {
    const list = await (await fetch('http://127.0.0.1:' + port + '/json/list', { signal: AbortSignal.timeout(3000) })).json();
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = () => rej(new Error('cannot connect'));
    });
    ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'process.report.writeReport()' } }));
    await until(() => reportOf(p), 10_000);
    ws.close();
  } catch (e) {
    say('pid ' + p + ': no report through its inspector (' + e.message + ')');
  }
}

function summary(p, r, say) {
  const threads = ls('/proc/' + p + '/task').map((t) => {
    const s = stat('/proc/' + p + '/task/' + t);
    const wchan = read('/proc/' + p + '/task/' + t + '/wchan');
    const name = t === String(p) ? 'main' : s.name;
    return name + ' ' + s.state + (wchan && wchan !== '0' ? ' ' + wchan : '') + ' ' + (s.ticks / 100).toFixed(2) + 's';
  });
  say('--- pid ' + p + ': threads (name, state, kernel wait, cpu time): ' + threads.join('; '));
  if (!r) return say('  no report from pid ' + p);
  say('  report of pid ' + p + ' (' + r.header.trigger + '): ' + r.header.commandLine.slice(1, 5).join(' '));
  const js = (rep, title, n) => {
    const m = rep.javascriptStack.message || '(no JavaScript running: the report was taken from the event loop)';
    say('  ' + title + 'JavaScript: ' + m);
    for (const l of (rep.javascriptStack.stack || []).slice(0, n)) say('    ' + l);
  };
  js(r, '', 15);
  const native = (r.nativeStack || [])
    .map((f) => (f.symbol || '').trim().replace(/\(.*/, ''))
    .filter((s) => s && !s.startsWith('['));
  // (the writing thread's: where a signal's report was taken, the report's own frames come first)
  say('  native stack: ' + native.slice(0, 10).join(' <- '));
  const handles = new Map();
  for (const h of r.libuv || []) {
    if (!h.is_active || h.type === 'loop') continue;
    const k = h.type + (h.is_referenced ? '' : ' (unref)');
    handles.set(k, (handles.get(k) || 0) + 1);
  }
  say('  active libuv handles: ' + ([...handles].map(([k, n]) => (n > 1 ? n + ' × ' : '') + k).join(', ') || 'none'));
  for (const w of r.workers || []) js(w, 'worker thread ' + w.header.threadId + ': ', 8);
}
`;

/** A temporary project folder; `backends` are symlinked into its node_modules/@nextscale. */
export function tempProject(o: { backends?: string[] } = {}): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-cli-'));
  if (o.backends?.length) {
    const scope = path.join(dir, 'node_modules', '@nextscale');
    mkdirSync(scope, { recursive: true });
    for (const b of o.backends)
      symlinkSync(path.join(PACKAGES, `backend-${b}`), path.join(scope, `backend-${b}`), 'dir');
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
