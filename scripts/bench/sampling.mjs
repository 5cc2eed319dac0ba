// Throughput of `nextscale sample`: images per second of one local process against a coordinator with N
// `nextscale worker`s over a real redis-server (started here on a free loopback port, stopped at the end), on
// the shipped model, and the coordinator's own time per image (collecting a job from Redis, decoding the
// base64 PNGs, writing them atomically). Rates count sampling only (model loading excluded): images made /
// the command's sampleMs. Medians over --reps runs of each configuration, all measured in this run.
// Every run starts fresh processes (the local one, or the workers), so each rate includes one warm-up.
// Each worker gets NEXTSCALE_THREADS = cores / N (so N workers do not oversubscribe the cores the single process
// uses with its default thread count).
// Usage: pnpm build && node scripts/bench/sampling.mjs [--per-class 10] [--classes 0,1] [--batch 2] [--workers 1,2] [--reps 3]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median } from '@nextscale/bench-utils';

const argv = process.argv.slice(2);
const arg = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const perClass = arg('--per-class', '10');
const classes = arg('--classes', '0,1');
const batch = arg('--batch', '2');
const workerCounts = arg('--workers', '1,2').split(',').map(Number);
const reps = Number(arg('--reps', '3'));
const BIN = fileURLToPath(new URL('../../packages/cli/bin/nextscale.js', import.meta.url));
const cores = machine().cores;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nextscale-bench-sampling-'));

function baseEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
  return { ...env, ...extra };
}

function run(args, env = baseEnv()) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout))
        : reject(new Error(`nextscale ${args.join(' ')} exited ${code}:\n${stderr}`)),
    );
  });
}

/** Starts a worker and resolves once it listens on the queue. */
function startWorker(url, name, threads) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--queue-name', name, '--verbose'], {
      env: baseEnv({ NEXTSCALE_THREADS: String(threads) }),
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/^worker \S+ on queue/m.test(stderr)) resolve(child);
    });
    child.on('close', (code) => reject(new Error(`worker exited ${code}:\n${stderr}`)));
  });
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const set = (out) => [
  'sample',
  '--per-class',
  perClass,
  '--classes',
  classes,
  '--batch',
  batch,
  '--out',
  out,
  '--json',
];
const rate = (summary) => summary.made / (summary.timings.sampleMs / 1000);

const port = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
const url = `redis://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 500));

try {
  console.log(
    JSON.stringify({ machine: machine(), set: { perClass: Number(perClass), classes, batch: Number(batch) }, reps }),
  );
  const rows = [];
  const local = [];
  for (let i = 0; i < reps + 1; i++) {
    const s = await run(set(path.join(tmp, `local-${i}`)));
    if (i > 0) local.push(rate(s)); // the first run warms the file cache and the JIT
  }
  rows.push({ mode: '1 process (local)', threads: 'default', imagesPerSecond: median(local), runs: local });

  for (const n of workerCounts) {
    const threads = Math.max(1, Math.floor(cores / n));
    const name = `bench-${n}`;
    const rates = [];
    const overheads = [];
    // Fresh workers for every run, like the fresh local process: both rates include a process's warm-up.
    for (let i = 0; i < reps + 1; i++) {
      const workers = await Promise.all(Array.from({ length: n }, () => startWorker(url, name, threads)));
      try {
        const s = await run([...set(path.join(tmp, `queue-${n}-${i}`)), '--queue', url, '--queue-name', name]);
        if (i === 0) continue;
        rates.push(rate(s));
        overheads.push(s.queue.overheadMsPerImage);
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    rows.push({
      mode: `coordinator + ${n} worker${n > 1 ? 's' : ''}`,
      threads: `${threads} per worker`,
      imagesPerSecond: median(rates),
      runs: rates,
      coordinatorMsPerImage: median(overheads),
    });
  }
  const base = rows[0].imagesPerSecond;
  console.log('\nmode                          threads         img/s (median)  vs 1 process  coordinator ms/image');
  for (const r of rows) {
    console.log(
      `${r.mode.padEnd(30)}${String(r.threads).padEnd(16)}${r.imagesPerSecond.toFixed(2).padStart(14)}  ${`${(r.imagesPerSecond / base).toFixed(2)}×`.padStart(12)}  ${r.coordinatorMsPerImage === undefined ? '—' : r.coordinatorMsPerImage.toFixed(1)}`,
    );
  }
  console.log(JSON.stringify({ results: rows }));
} finally {
  redis.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
