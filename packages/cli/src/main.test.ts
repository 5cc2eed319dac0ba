import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, run, runJson } from './test-support.js';

describe('nextscale binary', () => {
  it('prints its version', () => {
    expect(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 with a one-line usage error on an unknown command', () => {
    const r = run(['nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nextscale: unknown command 'nope' — .*pass a command: nextscale generate\|edit\|/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 on an unknown option and names it, without a stack trace', () => {
    const r = run(['generate', '--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nextscale: unknown option '--frobnicate' — see 'nextscale generate --help'\n$/);
  });

  it('exits 2 with usage when no command is given', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/pass a command: nextscale generate\|edit\|/);
  });

  it('prints help for every command and exits 0', () => {
    for (const cmd of ['generate', 'backends', 'inspect', 'convert', 'bench']) {
      const r = run([cmd, '--help']);
      expect(r.status, cmd).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: nextscale ${cmd}`));
    }
  });

  it('reports a usage error as one JSON document in --json mode', () => {
    const { result, doc } = runJson(['generate', '--seed', 'abc']);
    expect(result.status).toBe(2);
    expect(doc).toEqual({ error: { code: 'E_USAGE', message: "--seed expects an integer, got 'abc'", exitCode: 2 } });
  });
});
