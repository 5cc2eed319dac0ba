#!/usr/bin/env node
// main() checks the NEXTSCALE_* variables first (core's settings module) and reports a bad one as one usage line.
const { main } = await import('../dist/index.js');

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A backend may hold handles (worker threads, GPU contexts) that would keep Node running after the
// command is done; the timer is unref'd, so it only fires in that case.
setTimeout(() => process.exit(code), 2000).unref();
