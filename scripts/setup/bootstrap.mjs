#!/usr/bin/env node
/**
 * `npm start` and `npm test` on a machine with nothing but Node 20 and npm.
 *
 *   node scripts/setup/bootstrap.mjs start   set up, then write the shipped model's grid of all classes
 *   node scripts/setup/bootstrap.mjs test    set up, install the system packages the tests need, typecheck,
 *                                            run every package's tests, print `N passed, N failed`; the
 *                                            lint, format and architecture checks are the tests of the
 *                                            scripts package (scripts/checks), so they count in that line
 *
 * Set-up is the pinned pnpm through `npx -y pnpm@<packageManager version>` (never a global install),
 * `pnpm install --frozen-lockfile` when node_modules is missing or older than the lockfile, and
 * `pnpm build` when a package's build outputs are missing or its sources changed since the last build.
 * Both checks compare content hashes kept in stamp files under node_modules/, so a second run does no
 * work and starts the command within about a second. Plain Node, no dependencies: it must run before
 * anything is installed. The workspace packages come from pnpm-workspace.yaml, never from a list here.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceDirs } from './workspace.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const pnpmSpec = rootPkg.packageManager ?? 'pnpm@12.4.2';
const stampDir = path.join(root, 'node_modules', '.nextscale');
const INSTALL_STAMP = path.join(stampDir, 'install.sha256');
const BUILD_STAMP = path.join(stampDir, 'build.sha256');

const say = (line) => process.stderr.write(`setup: ${line}\n`);

/** Runs a command with inherited output; exits with its status when it fails (unless told not to). */
function run(cmd, args, { allowFail = false, env = {} } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', ...env },
  });
  if (r.error) {
    say(`cannot run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  const status = r.status ?? (r.signal === 'SIGINT' || r.signal === 'SIGTERM' ? 130 : 1);
  if (status !== 0 && !allowFail) process.exit(status);
  return status;
}

/** The pinned pnpm, fetched by npx into npm's cache on first use. */
const pnpm = (args, o) => run('npx', ['--yes', pnpmSpec, ...args], o);

const sha = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const readStamp = (file) => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '');
const writeStamp = (file, value) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${value}\n`);
};

const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', 'coverage', 'test', 'tests', '__tests__']);
const isTestFile = (name) => /\.(test|spec)\.[cm]?[jt]sx?$/.test(name) || name === '.vitest-report.json';

/** Hash of every file that can change a build: each package's sources and config, and the root's. */
function sourcesHash(dirs) {
  const h = createHash('sha256');
  const add = (file) => {
    h.update(path.relative(root, file));
    h.update('\0');
    h.update(readFileSync(file));
    h.update('\0');
  };
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(p);
      } else if (e.isFile() && !isTestFile(e.name) && !e.name.startsWith('.')) add(p);
    }
  };
  for (const f of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'turbo.json', 'tsconfig.base.json']) {
    if (existsSync(path.join(root, f))) add(path.join(root, f));
  }
  for (const d of dirs) walk(d);
  return h.digest('hex');
}

/** Top folders of turbo's build outputs (e.g. `dist` for `dist/**`). */
function buildOutputDirs() {
  try {
    const turbo = JSON.parse(readFileSync(path.join(root, 'turbo.json'), 'utf8'));
    const outs = turbo.tasks?.build?.outputs ?? ['dist/**'];
    return outs
      .filter((o) => !o.startsWith('!'))
      .map((o) => o.split('/')[0])
      .filter((o) => o && !o.includes('*'));
  } catch {
    return ['dist'];
  }
}

function ensureInstalled() {
  const want = sha(
    readFileSync(path.join(root, 'pnpm-lock.yaml')),
    readFileSync(path.join(root, 'pnpm-workspace.yaml')),
  );
  if (existsSync(path.join(root, 'node_modules')) && readStamp(INSTALL_STAMP) === want) return false;
  say(`installing dependencies (${pnpmSpec} install --frozen-lockfile)`);
  pnpm(['install', '--frozen-lockfile']);
  writeStamp(INSTALL_STAMP, want);
  rmSync(BUILD_STAMP, { force: true });
  return true;
}

function ensureBuilt() {
  const dirs = workspaceDirs(root);
  const want = sourcesHash(dirs);
  const outs = buildOutputDirs();
  const missing = dirs.filter((d) => {
    const pkg = JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8'));
    return pkg.scripts?.build && outs.some((o) => !existsSync(path.join(d, o)));
  });
  if (!missing.length && readStamp(BUILD_STAMP) === want) return false;
  say(
    missing.length
      ? `building (${missing.map((d) => path.relative(root, d)).join(', ')} not built yet)`
      : 'building (sources changed since the last build)',
  );
  pnpm(['run', 'build']);
  writeStamp(BUILD_STAMP, want);
  return true;
}

/** Debian packages the test suites need, when they are missing: the gpu backend's browsers and GL, Redis. */
function ensureSystemPackages() {
  const onPath = (bin) =>
    (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, bin)));
  const ldconfig = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  const need = [];
  if (!process.env.CHROMIUM_PATH && !existsSync('/usr/bin/chromium')) need.push('chromium');
  if (!/libEGL_mesa\.so\.0 /.test(ldconfig)) need.push('libegl-mesa0', 'libgl1-mesa-dri');
  if (!onPath('redis-server') && !existsSync('/usr/bin/redis-server')) need.push('redis-server');
  if (!need.length) return;
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) {
    say(`the tests need ${need.join(', ')}, and this is not a Debian-like system: install them, then rerun`);
    process.exit(1);
  }
  say(`installing ${need.join(', ')} for the tests (apt-get)`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const apt = (args) =>
    run(
      sudo[0] ?? 'apt-get',
      [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), '-o', 'DPkg::Lock::Timeout=600', ...args],
      { env: { DEBIAN_FRONTEND: 'noninteractive' } },
    );
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...need]);
}

function start(args) {
  const cli = path.join(root, 'packages', 'cli', 'bin', 'nextscale.js');
  // npm runs scripts in the package root; INIT_CWD is the folder `npm start` was typed in.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const argv = args.length ? args : ['generate', '--out', path.join(cwd, 'classes.png'), '--zoom', '4'];
  const r = spawnSync(process.execPath, [cli, ...argv], { stdio: 'inherit', cwd });
  process.exit(r.status ?? 130);
}

function test() {
  ensureSystemPackages();
  pnpm(['run', 'typecheck']);
  for (const d of workspaceDirs(root)) rmSync(path.join(d, '.vitest-report.json'), { force: true });
  const status = pnpm(['run', 'test:packages'], { allowFail: true });
  const count = run(process.execPath, [path.join(root, 'scripts', 'ci', 'count-tests.mjs')], { allowFail: true });
  process.exit(status !== 0 ? status : count);
}

const [command = 'start', ...rest] = process.argv.slice(2);
if (command !== 'start' && command !== 'test' && command !== 'setup') {
  say(`unknown command '${command}' — use start, test or setup`);
  process.exit(2);
}
ensureInstalled();
ensureBuilt();
if (command === 'start') start(rest);
else if (command === 'test') test();
