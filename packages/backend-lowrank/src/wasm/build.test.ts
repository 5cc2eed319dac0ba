import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('embedded binaries', () => {
  it('are up to date with assembly/*.ts (build-wasm --check)', () => {
    const script = createRequire(import.meta.url).resolve('@nextscale/wasm-runtime/scripts/build-wasm.mjs');
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const r = spawnSync(
      process.execPath,
      [script, '--out', 'src/wasm/bytes.generated.ts', '--variants', 'simd', '--check'],
      { encoding: 'utf8', cwd },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });
});
