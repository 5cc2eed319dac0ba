/**
 * The hostile-input corpus against the real CLI. Every case must end with its exit code and exactly
 * one stderr line `nextscale: <problem> — <fix>`, with no stack trace, no code run (a marker file
 * that a malicious pickle would create must not appear) and nothing written: the output folder
 * stays empty. The cases run in one child process through the CLI's main() (batch-runner.mjs);
 * the process-level ones (signals, memory, concurrent writers) are in their own files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus } from './corpus.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-corpus-'));
const marker = path.join(dir, 'PWNED');
const cases = buildCorpus(dir, marker);
const inputs = new Set(readdirSync(dir));
interface Result {
  id: string;
  status: number | string;
  stdout: string;
  stderr: string;
  ms: number;
}
let results = new Map<string, Result>();

beforeAll(() => {
  const casesFile = path.join(os.tmpdir(), `nextscale-corpus-cases-${process.pid}.json`);
  const resultsFile = path.join(os.tmpdir(), `nextscale-corpus-results-${process.pid}.json`);
  writeFileSync(casesFile, JSON.stringify(cases.map((c) => ({ id: c.id, argv: c.argv, env: c.env, cwd: dir }))));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXTSCALE_')) delete env[k];
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, 'batch-runner.mjs'), casesFile, resultsFile], {
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`batch runner failed (${r.status}): ${r.stderr}`);
  results = new Map((JSON.parse(readFileSync(resultsFile, 'utf8')) as Result[]).map((x) => [x.id, x]));
  rmSync(casesFile, { force: true });
  rmSync(resultsFile, { force: true });
  const slowest = [...results.values()].sort((a, b) => b.ms - a.ms).slice(0, 3);
  console.log(
    `${results.size} corpus cases in one process; slowest: ${slowest.map((x) => `${x.id} ${x.ms} ms`).join(', ')}`,
  );
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostile-input corpus', () => {
  it('has the cases the issue lists', () => {
    expect(cases.length).toBeGreaterThan(100);
    for (const kind of [
      /truncated in/,
      /central directory/,
      /declaring/,
      /os-system/,
      /subprocess/,
      /eval/,
      /INST|inst-/,
      /obj-/,
      /build-/,
      /10,000/,
      /legacy/,
      /wrong-shaped/,
      /^config /,
      /^flag /,
    ]) {
      expect(
        cases.some((c) => kind.test(c.id)),
        String(kind),
      ).toBe(true);
    }
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const r = results.get(c.id);
    expect(r, 'the case ran').toBeDefined();
    const lines = r!.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r!.stderr).toHaveLength(1);
    const line = lines[0];
    expect(line.startsWith('nextscale: '), line).toBe(true);
    expect(line, 'problem — fix').toContain(' — ');
    expect(line).not.toMatch(/internal error|\n\s+at |Error:/);
    expect(line).toMatch(c.line);
    expect(r!.status, line).toBe(c.exit);
    expect(r!.stdout).toBe('');
    // No code ran and nothing was written: no marker, no output, no temporary file, anywhere in the folder.
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(path.join(dir, 'out'))).toEqual([]);
    expect(readdirSync(dir).filter((f) => !inputs.has(f))).toEqual([]);
  });
});
