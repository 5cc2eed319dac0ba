#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { followParent, relaunch, wantsRelaunch } from './allocator.js';

// The commands that run a model run in a child started with glibc's allocator setting (allocator.js); this process
// then only waits for it.
if (wantsRelaunch(process.argv.slice(2))) await relaunch(fileURLToPath(import.meta.url), process.argv.slice(2));
followParent();

// V8 starts a collection for every ~64 MB of new ArrayBuffers ("external memory pressure"): reading a d16 model's
// 1.7 GB of weights sets off ~40 of them. Incremental ones cost marking tasks and write barriers throughout; atomic
// ones on the CLI's ~12 MB JavaScript heap take a few ms each (a cold one-image d16 run: ~1.8 s less CPU, NOTES.md
// "Session 8: cold2"). Set before anything is allocated.
setFlagsFromString('--no-incremental-marking');

// main() checks the NEXTSCALE_* variables first (core's settings module) and reports a bad one as one usage line.
const { main } = await import('../dist/index.js');

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A backend may hold handles (worker threads, GPU contexts) that would keep Node running after the
// command is done; the timer is unref'd, so it only fires in that case.
setTimeout(() => process.exit(code), 2000).unref();
