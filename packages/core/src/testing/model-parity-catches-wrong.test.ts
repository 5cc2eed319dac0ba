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

describe('the model-parity suite catches a wrong engine', () => {
  it('fails an engine whose GEMM is off by 1e-4 relative in the reference comparisons', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'nextscale-wrong-model-')), 'report.json');
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const run = spawnSync(
      process.execPath,
      [vitest, 'run', '--config', 'vitest.wrong-model.config.ts', '--reporter=json', `--outputFile=${out}`],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr.slice(-2000)).not.toBe(0);
    const results = (JSON.parse(readFileSync(out, 'utf8')) as JsonReport).testResults.flatMap(
      (f) => f.assertionResults,
    );
    const failed = results.filter((r) => r.status === 'failed').map((r) => r.fullName);
    expect(results.length).toBeGreaterThan(100);
    // teacher-forcing logits and the generated images are compared with atol 1e-4; a 1e-4 relative error shows there
    expect(failed.some((n) => n.includes('tf.logits'))).toBe(true);
    expect(failed.some((n) => n.includes('greedy generation'))).toBe(true);
  });
});
