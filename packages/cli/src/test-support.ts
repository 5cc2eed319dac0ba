/**
 * Helpers for the tests, which drive the built binary (`node bin/nextscale.js …`) as a subprocess.
 * Not part of the bundle (tsup builds src/index.ts only).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
}

/** Runs the CLI; the environment is cleaned of NEXTSCALE_* unless given. */
export function run(args: string[], o: { cwd?: string; env?: Record<string, string | undefined> } = {}): RunResult {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
  Object.assign(env, o.env ?? {});
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: o.cwd ?? CLI_DIR,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
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
  o: { cwd?: string; onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd ?? CLI_DIR, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      o.onStderr?.(stderr, (sig) => child.kill(sig));
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

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
