// Runs many CLI invocations in one fresh Node process (spawning one per case costs ~0.5 s each):
// each case calls the CLI's main() with its argv, cwd and environment, with stdout and stderr
// captured, and the results are written as JSON. Usage: node batch-runner.mjs cases.json results.json
import { readFileSync, writeFileSync } from 'node:fs';

const [casesFile, resultsFile] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const { main } = await import(new URL('../../dist/index.js', import.meta.url).href);

const results = [];
const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);
for (const c of cases) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = (chunk, ...rest) => {
    stdout += String(chunk);
    return true;
  };
  process.stderr.write = (chunk, ...rest) => {
    stderr += String(chunk);
    return true;
  };
  const origWarn = console.warn;
  console.warn = (...a) => (stderr += `${a.join(' ')}\n`);
  const t0 = performance.now();
  let status;
  try {
    status = await main(c.argv, { cwd: c.cwd, env: { ...process.env, ...(c.env ?? {}) } });
  } catch (e) {
    status = 'threw';
    stderr += `UNCAUGHT ${e?.stack ?? e}\n`;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    console.warn = origWarn;
  }
  results.push({ id: c.id, status, stdout, stderr, ms: Math.round(performance.now() - t0) });
}
writeFileSync(resultsFile, JSON.stringify(results));
process.exit(0);
