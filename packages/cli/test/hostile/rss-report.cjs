// Preloaded into a CLI process by the tests (node --require): on exit, writes the process's peak
// resident set size in bytes to $NEXTSCALE_TEST_RSS_FILE. It reads VmHWM (the peak of this program's
// own memory) rather than getrusage's maxRSS, which on Linux keeps the spawning process's peak across exec.
// The model commands run in a child of the CLI (bin/allocator.js), which is preloaded too (it gets the parent's
// node options) and exits first: the file keeps the larger of the two peaks, the child's.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
process.on('exit', () => {
  const file = process.env.NEXTSCALE_TEST_RSS_FILE;
  if (!file) return;
  const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const own = m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
  const other = existsSync(file) ? Number(readFileSync(file, 'utf8')) || 0 : 0;
  writeFileSync(file, String(Math.max(own, other)));
});
