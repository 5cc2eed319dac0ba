/**
 * The CLI as child processes, and a private redis-server on a free loopback port: what the sampling
 * end-to-end tests and the hostile queue tests share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'nextscale.js');
export const SHIPPED = path.join(ROOT, 'assets', 'fashion-mnist');
const RSS = path.join(ROOT, 'test', 'hostile', 'rss-report.cjs');

export interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  done: Promise<number | null>;
  /** Peak RSS in bytes (only with `rss: true`), once `done` resolved. */
  peakRss?: number;
}

export interface StartOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  node?: string[];
  /** Record the process's peak RSS (rss-report.cjs). */
  rss?: boolean;
  /** SIGKILL the process when its resident memory passes this many bytes (a guard for the machine when a test fails). */
  killAboveRss?: number;
}

/** Resident KiB of a process and its children (the model commands run in a child of the CLI: bin/allocator.js). */
function treeRssKiB(pid: number): number {
  let kb = 0;
  try {
    kb = Number(/VmRSS:\s*(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean))
      kb += treeRssKiB(Number(c));
  } catch {
    // exited
  }
  return kb;
}

export function start(args: string[], o: StartOptions): Run {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
  Object.assign(env, o.env);
  const rssFile = path.join(os.tmpdir(), `nextscale-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  if (o.rss) env['NEXTSCALE_TEST_RSS_FILE'] = rssFile;
  const child = spawn(process.execPath, [...(o.rss ? ['--require', RSS] : []), ...(o.node ?? []), BIN, ...args], {
    env,
    cwd: o.cwd,
  });
  const run: Run = { child, stdout: '', stderr: '', done: undefined as never };
  child.stdout!.on('data', (d) => (run.stdout += d));
  child.stderr!.on('data', (d) => (run.stderr += d));
  const guard =
    o.killAboveRss === undefined
      ? undefined
      : setInterval(() => {
          try {
            const kb = treeRssKiB(child.pid!);
            if (kb * 1024 > o.killAboveRss!) {
              run.stderr += `test: killed at ${Math.round(kb / 1024)} MiB resident\n`;
              child.kill('SIGKILL');
            }
          } catch {
            // exited
          }
        }, 100);
  run.done = new Promise((resolve) =>
    child.on('close', (code) => {
      clearInterval(guard);
      if (o.rss && existsSync(rssFile)) run.peakRss = Number(readFileSync(rssFile, 'utf8'));
      resolve(code);
    }),
  );
  return run;
}

export async function cli(args: string[], o: StartOptions) {
  const r = start(args, o);
  const status = await r.done;
  return { status, stdout: r.stdout, stderr: r.stderr, peakRss: r.peakRss };
}

/** Resolves when `test(stderr)` first holds (polling), or rejects after `ms`. */
export async function waitFor(r: Run, test: (stderr: string) => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!test(r.stderr)) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; stderr so far:\n${r.stderr}`);
    if (r.child.exitCode !== null)
      throw new Error(`process exited (${r.child.exitCode}) before ${what}; stderr:\n${r.stderr}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Lines a user error printed, without progress and log lines. */
export const errorLines = (stderr: string) =>
  stderr.split('\n').filter((l) => l.startsWith('nextscale: ') && !l.startsWith('nextscale: warning'));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForRedis(url: string, tls?: { ca: Buffer }): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(tls ? { tls } : {}),
  });
  probe.on('error', () => undefined);
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 100) throw new Error(`redis-server did not start at ${url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
}

/**
 * A redis-server of the test's own on a free loopback port (extra arguments: e.g. --requirepass; `auth`:
 * `user:password@` for the URL). With `tls` (a certificate and key in PEM files, the certificate its own
 * CA), it listens with TLS only and the URL is rediss://.
 */
export async function startRedis(
  extra: string[] = [],
  auth = '',
  tls?: { cert: string; key: string },
): Promise<{ url: string; server: ChildProcess; port: number }> {
  const port = await freePort();
  const listen = tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.cert,
        '--tls-key-file',
        tls.key,
        '--tls-ca-cert-file',
        tls.cert,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const server = spawn(
    'redis-server',
    [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
    { stdio: 'ignore' },
  );
  const url = `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`;
  await waitForRedis(url, tls ? { ca: readFileSync(tls.cert) } : undefined);
  return { url, server, port };
}
