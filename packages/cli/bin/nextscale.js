#!/usr/bin/env node
import { main } from '../dist/index.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// A backend may hold handles (worker threads, GPU contexts) that would keep Node running after the
// command is done; the timer is unref'd, so it only fires in that case.
setTimeout(() => process.exit(code), 2000).unref();
