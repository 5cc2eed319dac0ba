#!/usr/bin/env node
// Core reads NEXTSCALE_THREADS when it is imported (it sizes the GEMM worker pool then), so a bad value
// is reported here first, as the one usage line main() would print, instead of a warning from core.
const threads = process.env.NEXTSCALE_THREADS;
if (threads !== undefined && threads !== '' && !(Number.isInteger(Number(threads)) && Number(threads) >= 1)) {
  process.stderr.write(
    `nextscale: NEXTSCALE_THREADS=${threads}: expected a positive integer (the worker threads of the dense kernels) — set it to 1 or more, or unset it to use the available cores\n`,
  );
  process.exit(2);
}
const { main } = await import('../dist/index.js');

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A backend may hold handles (worker threads, GPU contexts) that would keep Node running after the
// command is done; the timer is unref'd, so it only fires in that case.
setTimeout(() => process.exit(code), 2000).unref();
