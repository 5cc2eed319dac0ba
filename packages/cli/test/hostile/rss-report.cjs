// Preloaded into a CLI process by the tests (node --require): on exit, writes the process's peak
// resident set size in bytes to $NEXTSCALE_TEST_RSS_FILE. It reads VmHWM (the peak of this program's
// own memory) rather than getrusage's maxRSS, which on Linux keeps the spawning process's peak across exec.
const { readFileSync, writeFileSync } = require('node:fs');
process.on('exit', () => {
  const file = process.env.NEXTSCALE_TEST_RSS_FILE;
  if (!file) return;
  const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  writeFileSync(file, String(m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024));
});
