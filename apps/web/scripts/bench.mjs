#!/usr/bin/env node
// The web app's engines timed per stage in headless Chromium, next to the Node onnx engine in the same run: the
// shipped Fashion-MNIST model and a VAR-d16-shaped model (random weights, the released shapes, written once as
// safetensors into the temp dir and opened by the page through its "Open weights" file picker, as a user would).
// Each case: one warm-up generation (it creates the ONNX sessions), then --reps timed ones (class 0, seeds 1…, cfg 1.5,
// top-k 900, top-p 0.96, no previews, the norm policy over the cpu and low-rank backends); medians.
// Engines: the page's 'onnx' (onnxruntime-web, wasm, min(8, cores) threads) and, with --webgpu, 'onnx-webgpu' on
// Chromium's SwiftShader adapter (a CPU rasteriser: its times say nothing about a GPU; shipped model only); Node:
// @nextscale/engine-onnx on onnxruntime-node with the same thread count.
// Usage: pnpm --filter @nextscale/web build && node apps/web/scripts/bench.mjs [--reps 3] [--d16-reps 2] [--skip-d16]
//          [--webgpu] [--out bench.md]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { CHROMIUM_FLAGS, MODEL_FILES } from './site.mjs';

const argv = process.argv.slice(2);
const arg = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const reps = Number(arg('--reps', '3'));
const d16Reps = Number(arg('--d16-reps', '2'));
const threads = Math.min(8, os.availableParallelism?.() ?? os.cpus().length);
const GEN = { classIndex: 0, cfg: 1.5, topK: 900, topP: 0.96, epsilon: 1e-2 };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

/** The d16-shaped model as files (written once; ~1.7 GB). */
async function d16Files() {
  const core = await import('@nextscale/core');
  const dir = path.join(os.tmpdir(), 'nextscale-web-bench-d16');
  const files = { var: path.join(dir, 'var_d16.safetensors'), vae: path.join(dir, 'vae_ch160v4096z32.safetensors') };
  if (!existsSync(files.vae)) {
    mkdirSync(dir, { recursive: true });
    console.log(`writing a random VAR-d16 and the released-shape VQ-VAE to ${dir} (once) …`);
    await core.writeSafetensors(files.var, core.randomVARStateDictEntries(core.releasedVARSpec(16)));
    await core.writeSafetensors(files.vae, core.randomVQVAEStateDictEntries(core.releasedVQVAEConfig()));
  }
  return files;
}

/** One generation in the page, as a user starts it; its times as the page reports them (#timing's data-*). */
async function pageGenerate(page, seed) {
  await page.locator('#seed').fill(String(seed));
  await page.locator('#generate').click();
  await page.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.state ?? ''), null, {
    timeout: 1_800_000,
  });
  if ((await page.evaluate(() => document.documentElement.dataset.state)) === 'error')
    throw new Error(`the page failed: ${await page.locator('#error').textContent()}`);
  const t = await page.locator('#timing').evaluate((e) => ({ ...e.dataset }));
  const summary = (await page.locator('#trace-summary').textContent()) ?? '';
  return {
    total: t.ms / 1000,
    transformer: t.transformer / 1000,
    decode: t.decode / 1000,
    engine: /engine (.*?);/.exec(summary)?.[1] ?? '?',
  };
}

async function pageCase(browser, url, engine, files, n) {
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  try {
    await page.goto(`${url}?preview=0`);
    await page.waitForFunction(() => document.documentElement.dataset.state === 'ready', null, { timeout: 120_000 });
    if (files) {
      await page.locator('#weights-input').setInputFiles([files.var, files.vae]);
      await page.waitForFunction(
        () =>
          /var_d16/.test(document.querySelector('#model-label')?.textContent ?? '') &&
          document.documentElement.dataset.state === 'ready',
        null,
        { timeout: 600_000 },
      );
    }
    await page.locator('#engine').selectOption(engine);
    await page.locator('#preview-each').setChecked(false);
    await page.locator('#class').selectOption(String(GEN.classIndex));
    const first = await pageGenerate(page, 100);
    const runs = [];
    for (let r = 0; r < n; r++) runs.push(await pageGenerate(page, r + 1));
    return { engine: first.engine, first, runs };
  } finally {
    await context.close();
  }
}

async function nodeCase(which, n) {
  const core = await import('@nextscale/core');
  await import('@nextscale/engine-onnx/register');
  const { backend: cpu } = await import('@nextscale/backend-cpu');
  const { backend: lowrank } = await import('@nextscale/backend-lowrank');
  const registry = core.createRegistry();
  registry.register(cpu);
  registry.register(lowrank);
  const [v, q] = which === 'd16' ? Object.values(await d16Files()) : MODEL_FILES.map((f) => f.source);
  const model = await core.VARModel.fromStateDicts(await core.loadStateDict(v), await core.loadStateDict(q), {
    registry,
    policy: core.normPolicy({ epsilon: GEN.epsilon }),
    engine: 'onnx',
    threads,
  });
  const gen = async (seed) => {
    let decodeAt = 0;
    const t0 = performance.now();
    await model.generate({
      labels: [GEN.classIndex],
      cfg: GEN.cfg,
      topK: GEN.topK,
      topP: GEN.topP,
      seed,
      onProgress: (e) => void (e.stage === 'decode' && (decodeAt ||= performance.now())),
    });
    const t1 = performance.now();
    return { total: (t1 - t0) / 1000, transformer: (decodeAt - t0) / 1000, decode: (t1 - decodeAt) / 1000 };
  };
  try {
    const first = await gen(100);
    const runs = [];
    for (let r = 0; r < n; r++) runs.push(await gen(r + 1));
    return { engine: model.engine.name, first, runs };
  } finally {
    await model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------------------------
const dist = fileURLToPath(new URL('../dist/index.html', import.meta.url));
if (!existsSync(dist)) {
  console.error('no build in apps/web/dist: run `pnpm --filter @nextscale/web build` first');
  process.exit(2);
}
const loadBefore = load();
const cpus = os.cpus();
const machineLine = `${cpus[0]?.model ?? '?'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim()}`;
console.log(`machine: ${machineLine}; load average before: ${loadBefore}`);
const files = argv.includes('--skip-d16') ? null : await d16Files();
const server = await startServer({ port: 0 });
const plain = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS.plain });
const gpu = argv.includes('--webgpu')
  ? await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS.webgpu })
  : null;
const rows = [];
const record = (model, where, r) => {
  const m = (k) => median(r.runs.map((x) => x[k]));
  const row = {
    model,
    where,
    engine: r.engine,
    runs: r.runs.map((x) => x.total),
    total: m('total'),
    transformer: m('transformer'),
    decode: m('decode'),
    first: r.first.total,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  return row;
};
try {
  const cases = [['shipped', null, reps], ...(files ? [['d16', files, d16Reps]] : [])];
  for (const [model, f, n] of cases) {
    const node = record(model, 'Node', await nodeCase(model, n));
    const web = record(model, 'Chromium', await pageCase(plain, server.url, 'onnx', f, n));
    web.ratio = web.total / node.total;
    if (gpu && model === 'shipped')
      record(model, 'Chromium (SwiftShader)', await pageCase(gpu, server.url, 'onnx-webgpu', f, n)).ratio =
        rows.at(-1).total / node.total;
  }
} finally {
  await plain.close();
  await gpu?.close();
  await server.close();
}
const loadAfter = load();
const s = (x) => x.toFixed(2);
const table = [
  `Machine: ${machineLine}. Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}.`,
  `Batch 1, class 0, cfg ${GEN.cfg}, top-k ${GEN.topK}, top-p ${GEN.topP}, norm policy (ε ${GEN.epsilon}); medians of the timed runs after one warm-up (which creates the ONNX sessions).`,
  '',
  '| model | where | engine | runs (s) | total (s) | transformer (s) | decode (s) | warm-up (s) | × Node |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.where} | ${r.engine} | ${r.runs.map(s).join(', ')} | ${s(r.total)} | ${s(r.transformer)} | ${s(r.decode)} | ${s(r.first)} | ${r.ratio ? `${s(r.ratio)}×` : '1×'} |`,
  ),
].join('\n');
console.log(`\n${table}`);
if (arg('--out')) writeFileSync(arg('--out'), `${table}\n`);
