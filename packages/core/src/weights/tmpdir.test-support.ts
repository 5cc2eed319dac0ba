// Per-test temporary directories for crafted files (removed after each test file).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export function useTempDir(): (name: string, contents?: Uint8Array | string) => string {
  const dir = mkdtempSync(join(tmpdir(), 'nextscale-weights-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name, contents) => {
    const p = join(dir, name);
    if (contents !== undefined) writeFileSync(p, contents);
    return p;
  };
}
