// Sums the vitest JSON reports of every package into one plain `N passed, N failed` line.
// A package whose tests did not produce a report counts as one failure, so a crash cannot pass silently.
// Every workspace package (pnpm-workspace.yaml) with a test script counts, wherever it lives.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceDirs } from '../setup/workspace.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
let passed = 0;
let failed = 0;
for (const dir of workspaceDirs(root)) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  const report = join(dir, '.vitest-report.json');
  if (!existsSync(report)) {
    console.error(`${pkg.name}: no test report (the test run crashed before writing it)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.error(
    `${pkg.name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  if (r.numTotalTests === 0 || !r.success) failed += r.numFailedTests === 0 ? 1 : 0;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
