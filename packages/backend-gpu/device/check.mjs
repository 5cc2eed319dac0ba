// The gpu backend on a machine with a real GPU: the shared conformance suite and the attention benchmark
// in WebGPU mode (gpu.js's WGSL kernels on Dawn's Node binding, which drives the Vulkan adapter), next to
// the exact 'cpu' backend measured in the same run (registered by the bundle's entry, see pack.mjs); prints one
// report and writes it to --out.
// Runs only as the bundle made by pack.mjs (the suite's 'vitest' import is bound to vitest-shim.mjs there).
//
// Options: --modes webgpu[,webasm,...]  gpu.js modes to check (default webgpu)
//          --allow-software              accept a software adapter (llvmpipe, SwiftShader): for trying the check
//          --lengths 680,2240            token-map lengths to time (see bench/attention-cases.mjs)
//          --reps 5                      timed runs per row (median reported, after one warm-up)
//          --heads 1,32                  (batch × head) slices per call: one head, and VAR-d16's 16 heads × 2 (CFG)
//          --tolerance 5e-6              max abs error vs the float64 reference in the suite
//          --out DIR                     also write DIR/gpu-check.md and DIR/gpu-check.json
// Exit status: 0 all conformance tests passed, 1 some failed, 2 a requested mode cannot run here.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tensor } from '@nextscale/core';
import { createRegisteredBackend } from '@nextscale/core/attention';
import { testAttentionBackend } from '@nextscale/core/testing';
import { backend, chooseMode, createGpuAttention, modeSupported, VERSION } from '../src/index.ts';
import { timeEngines } from '../bench/attention-cases.mjs';
import { runRegistered } from './vitest-shim.mjs';

const { values: opts } = parseArgs({
  options: {
    modes: { type: 'string', default: 'webgpu' },
    'allow-software': { type: 'boolean', default: false },
    lengths: { type: 'string', default: '680,2240' },
    reps: { type: 'string', default: '5' },
    heads: { type: 'string', default: '1,32' },
    tolerance: { type: 'string', default: '5e-6' },
    out: { type: 'string' },
  },
});
const modes = opts.modes.split(',');
const lengths = opts.lengths.split(',').map(Number);
const reps = Number(opts.reps);

const lines = [];
const say = (line = '') => {
  console.log(line);
  lines.push(line);
};

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version} ${process.platform}-${process.arch}`;
say(`# GPU check: @nextscale/backend-gpu ${VERSION}, ${new Date().toISOString()}`);
say();
say(`machine: ${machine}`);
const automatic = await chooseMode();
say(`automatic mode: ${automatic.mode} (${automatic.reason})`);
for (const s of automatic.skipped) say(`  passed over ${s.mode}: ${s.reason}`);

const targets = [];
for (const mode of modes) {
  const s = await modeSupported(mode);
  if (!s.ok || (s.software && !opts['allow-software'])) {
    console.error(
      `gpu.js mode ${mode} cannot be checked here: ${s.reason}${s.ok ? ' (pass --allow-software to check it anyway)' : ''}`,
    );
    process.exit(2);
  }
  targets.push({ mode, adapter: s.adapter ?? '-' });
}

say();
say('## Conformance: the shared suite of @nextscale/core/testing');
say();
const report = { machine, automatic, conformance: [], bench: [] };
for (const t of targets) {
  testAttentionBackend(
    { ...backend, create: () => createGpuAttention({ mode: t.mode }) },
    { tolerance: Number(opts.tolerance), label: `mode ${t.mode}` },
  );
  const results = await runRegistered({ onResult: (r) => r.ok || console.error(`FAIL ${r.name}: ${r.error}`) });
  const att = await createGpuAttention({ mode: t.mode });
  const x = new Tensor(
    [1, 1, 4, 8],
    Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)),
  );
  await att.attend(x, x, x, { scale: 0.5 });
  const executor = att.executedOn?.executor ?? '-';
  await att.dispose();
  report.conformance.push({
    ...t,
    executor,
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok),
    seconds: results.reduce((s, r) => s + r.ms, 0) / 1000,
  });
}
say('| gpu.js mode | adapter | gpu.js executor | passed | failed | seconds |');
say('|---|---|---|---|---|---|');
for (const c of report.conformance)
  say(`| ${c.mode} | ${c.adapter} | ${c.executor} | ${c.passed} | ${c.failed.length} | ${c.seconds.toFixed(1)} |`);
for (const c of report.conformance) for (const f of c.failed) say(`- FAILED [${c.mode}] ${f.name}: ${f.error}`);

say();
say(`## Exact attention, head dim 64: median of ${reps} runs after a warm-up`);
say();
say('| backend | gpu.js mode | L | heads | mask | median ms | GFLOP/s | time vs cpu backend |');
say('|---|---|---|---|---|---|---|---|');
const engines = [
  { name: 'cpu', mode: '-', create: () => createRegisteredBackend('cpu') },
  ...targets.map((t) => ({
    name: 'gpu',
    mode: `${t.mode} (${t.adapter})`,
    create: () => createGpuAttention({ mode: t.mode }),
  })),
];
for (const heads of opts.heads.split(',').map(Number)) {
  await timeEngines({
    engines,
    lengths,
    reps,
    heads,
    onRow: (r) => {
      report.bench.push(r);
      say(
        `| ${r.name} | ${r.mode} | ${r.L} | ${r.heads} | ${r.mask} | ${(r.seconds * 1000).toFixed(2)} | ${r.gflops.toFixed(2)} | ${r.vsFirst.toFixed(2)}× |`,
      );
    },
  });
}

if (opts.out) {
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'gpu-check.md'), `${lines.join('\n')}\n`);
  writeFileSync(join(opts.out, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);
}
const failed = report.conformance.reduce((s, c) => s + c.failed.length, 0);
console.log(failed ? `\n${failed} conformance test(s) FAILED` : '\nall conformance tests passed');
process.exit(failed ? 1 : 0);
