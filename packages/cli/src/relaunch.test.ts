/**
 * bin/allocator.js: the model commands run in a child started with glibc's allocator setting. What a caller sees must
 * not change: exit codes, signals (the Ctrl-C test is in generate.test.ts), and no child left running when the CLI is
 * killed.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, CLI_DIR, fixture, run } from './test-support.js';

interface Allocator {
  wantsRelaunch(args: string[], env?: Record<string, string>, platform?: string): boolean;
  ALLOCATOR_ENV: { name: string; value: string };
}
const allocator = (): Promise<Allocator> => import(path.join(CLI_DIR, 'bin', 'allocator.js')) as Promise<Allocator>;

/** Pids of live processes whose starting environment has `entry`. */
function processesWith(entry: string): number[] {
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(entry)) found.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('relaunch with the allocator setting', () => {
  it('is for the model commands on Linux, unless the user set the allocator or this is the child', async () => {
    const { wantsRelaunch } = await allocator();
    expect(wantsRelaunch(['generate', '--var', 'x'], {}, 'linux')).toBe(true);
    expect(wantsRelaunch(['--verbose', 'sample'], {}, 'linux')).toBe(true);
    expect(wantsRelaunch(['edit'], {}, 'linux')).toBe(true);
    expect(wantsRelaunch(['models', 'pull', 'var-d16'], {}, 'linux')).toBe(false);
    expect(wantsRelaunch(['--help'], {}, 'linux')).toBe(false);
    expect(wantsRelaunch([], {}, 'linux')).toBe(false);
    expect(wantsRelaunch(['generate'], {}, 'darwin')).toBe(false);
    expect(wantsRelaunch(['generate'], { MALLOC_ARENA_MAX: '2' }, 'linux')).toBe(true);
    expect(wantsRelaunch(['generate'], { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' }, 'linux')).toBe(false);
    expect(wantsRelaunch(['generate'], { GLIBC_TUNABLES: '' }, 'linux')).toBe(false);
    expect(wantsRelaunch(['generate'], { NEXTSCALE_CLI_RELAUNCHED: '1' }, 'linux')).toBe(false);
  });

  it.runIf(process.platform === 'linux')('passes the child’s exit code on (a usage error: 2)', () => {
    const r = run(['generate', '--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--class', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nextscale: /);
  });

  it.runIf(process.platform === 'linux')(
    'the child runs with the setting, and ends when the CLI is killed with SIGKILL',
    async () => {
      const { ALLOCATOR_ENV } = await allocator();
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_') || k === 'GLIBC_TUNABLES') delete env[k];
      const cli = spawn(
        process.execPath,
        [
          BIN,
          'generate',
          '--var',
          fixture('var.pth'),
          '--vae',
          fixture('vae.pth'),
          '--patch-nums',
          '1,2,3,4',
          '--batch',
          '8',
          '-o',
          '/dev/null',
          '--verbose',
        ],
        { cwd: CLI_DIR, env },
      );
      const mark = `NEXTSCALE_CLI_RELAUNCHED=${cli.pid}`;
      let children: number[] = [];
      let childEnv: string[] = [];
      let stderr = '';
      const closed = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
      cli.stderr.on('data', (d) => {
        stderr += d;
        if (children.length || !/scale 1\/4/.test(stderr)) return;
        children = processesWith(mark);
        childEnv = children.length ? readFileSync(`/proc/${children[0]}/environ`, 'latin1').split('\0') : [];
        cli.kill('SIGKILL');
      });
      const status = await closed; // the pipes close once the child has ended too
      expect(status).toBe(null);
      expect(children).toHaveLength(1);
      expect(childEnv).toContain(`${ALLOCATOR_ENV.name}=${ALLOCATOR_ENV.value}`);
      // it stopped on the parent's death (its IPC channel closed → SIGTERM), not by running to the end
      expect(stderr).toMatch(/nextscale: interrupted — nothing was written/);
      expect(processesWith(mark)).toEqual([]);
    },
  );
});
