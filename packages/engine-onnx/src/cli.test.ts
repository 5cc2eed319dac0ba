/**
 * The engine as the CLI sees it, through the built `nextscale` binary in throwaway projects:
 * - installed ⇒ used: a project whose node_modules holds @nextscale/engine-onnx generates on it with no flag, no
 *   environment and no config, and `--json` says so;
 * - a broken native install (onnxruntime-node's addon fails to load): `--engine onnx` exits 4 with one line that says
 *   what failed and how to fix it, and `nextscale backends` lists the engine as unavailable with that reason.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HERE = fileURLToPath(new URL('..', import.meta.url)); // packages/engine-onnx
const PACKAGES = path.resolve(HERE, '..');
const BIN = path.join(PACKAGES, 'cli', 'bin', 'nextscale.js');
const FIXTURES = path.join(PACKAGES, 'core', 'fixtures', 'var-tiny');
const MODEL = [
  '--var',
  path.join(FIXTURES, 'var.pth'),
  '--vae',
  path.join(FIXTURES, 'vae.pth'),
  '--patch-nums',
  '1,2,3,4',
  '--class',
  '0',
];

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function project(): { dir: string; scope: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-onnx-cli-'));
  dirs.push(dir);
  const scope = path.join(dir, 'node_modules', '@nextscale');
  mkdirSync(scope, { recursive: true });
  return { dir, scope };
}
function cli(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('engine-onnx in the CLI', () => {
  it('installed in the project ⇒ `nextscale generate` runs on it with no configuration; --json names it', () => {
    const p = project();
    symlinkSync(HERE, path.join(p.scope, 'engine-onnx'), 'dir');
    const r = cli(['generate', ...MODEL, '-o', path.join(p.dir, 'x.png'), '--json'], p.dir);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { engine: { id: string; package: string; source: string; name: string } };
    expect(doc.engine).toMatchObject({ id: 'onnx', package: '@nextscale/engine-onnx', source: 'priority' });
    expect(doc.engine.name).toMatch(/^onnxruntime-node 1\.30\.0 cpu/);
  });

  it('a broken onnxruntime-node (its native addon fails to load): --engine onnx exits 4 with one line and the fix', () => {
    // a real install layout with onnxruntime-node replaced by a package whose addon cannot load, as after a
    // half-finished install or a binary for another platform
    const p = project();
    const eng = path.join(p.scope, 'engine-onnx');
    mkdirSync(eng);
    cpSync(path.join(HERE, 'package.json'), path.join(eng, 'package.json'));
    cpSync(path.join(HERE, 'dist'), path.join(eng, 'dist'), { recursive: true });
    symlinkSync(path.join(PACKAGES, 'core'), path.join(p.scope, 'core'), 'dir');
    const ort = path.join(p.dir, 'node_modules', 'onnxruntime-node');
    mkdirSync(ort);
    writeFileSync(
      path.join(ort, 'package.json'),
      JSON.stringify({ name: 'onnxruntime-node', version: '1.30.0', main: 'index.js' }),
    );
    writeFileSync(
      path.join(ort, 'index.js'),
      "throw new Error('onnxruntime_binding.node: cannot open shared object file: No such file or directory\\n    at Module._extensions..node');\n",
    );
    const r = cli(['generate', ...MODEL, '-o', path.join(p.dir, 'x.png'), '--engine', 'onnx'], p.dir);
    expect(r.status, r.stderr).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/onnx/);
    expect(lines[0]).toMatch(/native addon failed to load \(onnxruntime_binding\.node: cannot open shared object file/);
    expect(lines[0]).toMatch(/reinstall it/);
    expect(r.stderr).not.toMatch(/^\s+at /m);

    // Named by nobody, the broken engine is passed over for the next one, and a warning says so.
    const u = cli(['generate', ...MODEL, '-o', path.join(p.dir, 'y.png'), '--json'], p.dir);
    expect(u.status, u.stderr).toBe(0);
    expect(u.stderr).toMatch(
      /^nextscale: warning: dense engine onnx \(@nextscale\/engine-onnx\) is installed but cannot run here: .*native addon failed to load.*; computing on wasm instead/m,
    );
    const used = JSON.parse(u.stdout) as { engine: { id: string; skipped: { id: string }[] } };
    expect(used.engine.id).toBe('wasm');
    expect(used.engine.skipped.map((k) => k.id)).toEqual(['onnx']);

    const b = cli(['backends', '--json'], p.dir);
    expect(b.status, b.stderr).toBe(0);
    const doc = JSON.parse(b.stdout) as { engines: { engines: { id: string; available: boolean; reason?: string }[] } };
    const onnx = doc.engines.engines.find((e) => e.id === 'onnx');
    expect(onnx).toMatchObject({ available: false });
    expect(JSON.stringify(onnx)).toMatch(/native addon failed to load/);
  });

  it('an engine name that does not exist exits 4 with one line listing what is installed', () => {
    const p = project();
    symlinkSync(HERE, path.join(p.scope, 'engine-onnx'), 'dir');
    const r = cli(['generate', ...MODEL, '-o', path.join(p.dir, 'x.png'), '--engine', 'onnxx'], p.dir);
    expect(r.status).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/onnxx/);
    expect(lines[0]).toMatch(/onnx/);
  });
});
