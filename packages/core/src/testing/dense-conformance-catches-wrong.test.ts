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

describe('the dense-engine conformance suite catches wrong engines', () => {
  it('fails each deliberately wrong engine in the tests that target its bug, and only there', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'nextscale-wrong-engines-')), 'report.json');
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const run = spawnSync(
      process.execPath,
      [vitest, 'run', '--config', 'vitest.wrong-engines.config.ts', '--reporter=json', `--outputFile=${out}`],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr.slice(-2000)).not.toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
    const results = report.testResults.flatMap((f) => f.assertionResults);
    const failed = (id: string) =>
      results.filter((r) => r.fullName.includes(`(wrong: ${id})`) && r.status === 'failed').map((r) => r.fullName);

    // gemm bugs fail gemm cases; dropping the last term cannot show at k = 0
    expect(
      failed('drops-last-term').some((n) => n.includes('gemmNT (when provided) matches') && n.includes('k=29')),
    ).toBe(true);
    expect(failed('drops-last-term').some((n) => n.includes('k=0,'))).toBe(false);
    // writing into the padding between rows is caught only where there is padding (ldc > n)
    expect(failed('writes-outside-c').some((n) => n.includes('strides +3/+5/+2'))).toBe(true);
    expect(failed('writes-outside-c').some((n) => n.includes('strides +0/+0/+0'))).toBe(false);
    // each fast-path bug fails its own test and nothing else
    const only = (id: string, test: string) => {
      const f = failed(id);
      expect(f.length, `${id}: ${f.join('; ')}`).toBeGreaterThan(0);
      expect(
        f.every((n) => n.includes(test)),
        `${id}: ${f.join('; ')}`,
      ).toBe(true);
    };
    only('linear-caches-by-shape', 'linear matches');
    only('linear-once-pins', 'linearOnce (when provided)');
    only('conv-drops-bias', 'conv2d matches');
    only('gelu-erf', 'geluTanh (when provided)');
    only('softmax-leaks-mask', 'softmaxRows (when provided)');
  });
});
