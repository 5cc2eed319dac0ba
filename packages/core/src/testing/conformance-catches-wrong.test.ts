import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface JsonReport {
  testResults: { assertionResults: { fullName: string; status: string }[] }[];
}

describe('the conformance suite catches wrong backends', () => {
  it('fails each deliberately wrong backend in the tests that target its bug', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'nextscale-wrong-')), 'report.json');
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const run = spawnSync(
      process.execPath,
      [vitest, 'run', '--config', 'vitest.wrong.config.ts', '--reporter=json', `--outputFile=${out}`],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr.slice(-2000)).not.toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
    const results = report.testResults.flatMap((f) => f.assertionResults);
    const failed = (backend: string) =>
      results.filter((r) => r.fullName.includes(`: ${backend} `) && r.status === 'failed').map((r) => r.fullName);

    // Off by 1e-3 in one output entry: every numeric comparison that reads entry 0 must fail.
    expect(failed('off-by-a-bit').some((n) => n.includes('no mask matches the float64 reference'))).toBe(true);
    expect(failed('off-by-a-bit').some((n) => n.includes('block-causal mask matches'))).toBe(true);
    // Ignoring the block-causal mask must be caught by the masked comparisons, not by the unmasked ones.
    expect(failed('ignores-mask').some((n) => n.includes('block-causal mask matches'))).toBe(true);
    expect(failed('ignores-mask').some((n) => n.includes('no mask matches'))).toBe(false);
    // Accepting NaN must be caught by the rejection tests.
    expect(failed('accepts-nan').some((n) => n.includes('rejects NaN'))).toBe(true);
    // Any backend without a working incremental state fails the state test.
    expect(failed('accepts-nan').some((n) => n.includes('incremental state'))).toBe(true);
  });
});
