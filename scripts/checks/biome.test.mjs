/**
 * Lint and format as part of `npm test`: Biome (biome.jsonc at the root) over every TypeScript and JavaScript file
 * git tracks. The whole diagnostic output is the failure message, so a failing run says what to fix; `npm run
 * format` writes the formatting, `npm run lint` shows the lint findings alone.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const biome = path.join(repo, 'node_modules', '.bin', process.platform === 'win32' ? 'biome.cmd' : 'biome');

function run(args) {
  const r = spawnSync(biome, [...args, '--colors=off', '--max-diagnostics=50', '.'], { cwd: repo, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('Biome', () => {
  it('finds no lint problem (warnings count)', () => {
    const { status, output } = run(['lint', '--error-on-warnings']);
    expect(status, output).toBe(0);
  });

  it('finds every file formatted (npm run format writes it)', () => {
    const { status, output } = run(['format']);
    expect(status, output).toBe(0);
  });
});
