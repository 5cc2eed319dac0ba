#!/usr/bin/env node
/**
 * What a user's `npm i @nextscale/cli` costs, and whether an installed engine is used with no configuration.
 *
 * Packs every publishable workspace package (pnpm pack turns `workspace:` ranges into versions), installs the
 * CLI's set with npm into an empty project with an empty HOME (so nothing comes from a cache), measures the
 * time and node_modules size, then adds @nextscale/engine-onnx (with --ignore-scripts: onnxruntime-node's
 * install script downloads CUDA binaries; the CPU ones are in the package) and checks that `nextscale
 * generate --json` reports the onnx engine. Needs the npm registry for third-party dependencies and a
 * build (`npm start` or `pnpm build`) first.
 *
 *   node scripts/bench/install-size.mjs
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'nextscale-install-'));
const packs = path.join(work, 'packs');
const project = path.join(work, 'project');
const home = path.join(work, 'home');
const sh = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, ...env },
  });
const timed = (fn) => {
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
};
const du = (dir) => sh('du', ['-sm', dir], work).split(/\s/)[0] + ' MB';

try {
  for (const d of [packs, project, home]) execFileSync('mkdir', ['-p', d]);
  const tarball = {};
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    const pj = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
    if (pj.private) continue;
    const out = sh(
      'npx',
      ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', packs],
      path.join(root, 'packages', dir),
      { HOME: os.homedir() },
    );
    tarball[pj.name] = out.trim().split('\n').pop();
  }
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'try-nextscale', private: true, type: 'module' }),
  );

  // The CLI's own dependencies from the workspace (everything @nextscale it needs, transitively), nothing else.
  const cliSet = new Set();
  const visit = (name) => {
    if (cliSet.has(name) || !tarball[name]) return;
    cliSet.add(name);
    const dir = readdirSync(path.join(root, 'packages')).find(
      (d) => JSON.parse(readFileSync(path.join(root, 'packages', d, 'package.json'), 'utf8')).name === name,
    );
    const pj = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pj.dependencies ?? {})) visit(dep);
  };
  visit('@nextscale/cli');
  const npmI = (names, extra = []) =>
    sh('npm', ['i', '--no-audit', '--no-fund', ...extra, ...names.map((n) => tarball[n])], project);
  const [, cliSeconds] = timed(() => npmI([...cliSet]));
  const cliSize = du(path.join(project, 'node_modules'));
  const bin = path.join(project, 'node_modules', '.bin', 'nextscale');
  const engineOf = () =>
    JSON.parse(sh(bin, ['generate', '--class', '0', '--out', 'x.png', '--json'], project)).engine.id;
  const before = engineOf();

  const [, onnxSeconds] = timed(() => npmI(['@nextscale/engine-onnx'], ['--ignore-scripts']));
  const onnxSize = du(path.join(project, 'node_modules'));
  const after = engineOf();

  console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, Node ${process.version}, npm ${sh('npm', ['-v'], project).trim()}`,
  );
  console.log(
    `npm i ${[...cliSet].join(' ')}: ${cliSeconds.toFixed(1)} s, node_modules ${cliSize}; generate ran on '${before}'`,
  );
  console.log(
    `+ npm i --ignore-scripts @nextscale/engine-onnx: ${onnxSeconds.toFixed(1)} s, node_modules ${onnxSize}; generate ran on '${after}' with no configuration`,
  );
  if (after !== 'onnx') {
    console.error('FAIL: the installed onnx engine was not used');
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
