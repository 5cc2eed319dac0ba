// gpu backend vs cpu backend: exact attention time at VAR's shapes (L = 680 and 2240, head dim 64,
// block-causal and unmasked), in every gpu.js mode that runs in Node here; medians over several runs.
// With --browser it also times the shader modes in headless Chromium (Debian's chromium, or CHROMIUM_PATH):
// WebGL2 and WebGPU, which on a machine without a GPU run on SwiftShader (named in each row).
// Usage: pnpm build && node --import @nextscale/backend-cpu/register packages/backend-gpu/bench/attention.mjs [--reps 3] [--modes webasm,cpu] [--browser]
import os from 'node:os';
import { createRegisteredBackend } from '@nextscale/core/attention';
import { createGpuAttention, modeSupported } from '../dist/index.js';
import { attentionCases, timeEngines } from './attention-cases.mjs';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const reps = Number(arg('--reps', 3));
const modes = arg('--modes', 'webgpu,webgl2,headlessgl,webasm').split(',');
const lengths = [680, 2240];

const engines = [{ name: 'cpu backend', mode: '-', create: () => createRegisteredBackend('cpu') }];
for (const mode of modes) {
  const s = await modeSupported(mode);
  if (s.ok)
    engines.push({
      name: 'gpu backend',
      mode: `${mode}${s.adapter ? ` (${s.adapter})` : ''}`,
      create: () => createGpuAttention({ mode }),
    });
  else console.error(`skipping gpu.js mode ${mode}: ${s.reason}`);
}

console.log(
  `machine: ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores, node ${process.version}; median of ${reps} runs after a warm-up`,
);
console.log('| backend | gpu.js mode | L | mask | median s | GFLOP/s | vs cpu |\n|---|---|---|---|---|---|---|');
await timeEngines({
  engines,
  lengths,
  reps,
  onRow: (r) =>
    console.log(
      `| ${r.name} | ${r.mode} | ${r.L} | ${r.mask} | ${r.seconds.toFixed(3)} | ${r.gflops.toFixed(2)} | ${r.vsFirst.toFixed(2)}× |`,
    ),
});

if (process.argv.includes('--browser')) {
  const { createServer } = await import('node:http');
  const { readFileSync } = await import('node:fs');
  const { chromium } = await import('playwright-core');
  const { buildBrowserBundle } = await import('../browser/build.mjs');
  const bundle = readFileSync(await buildBrowserBundle());
  const server = createServer((req, res) =>
    req.url === '/check.js'
      ? res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      : res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/check.js"></script>'),
  );
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const base = [
    '--headless',
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  const browsers = {
    webgl2: [...base, '--disable-gpu'],
    webgpu: [
      ...base,
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--use-angle=swiftshader',
      '--use-webgpu-adapter=swiftshader',
    ],
  };
  console.log('\n| backend | gpu.js mode (in Chromium) | L | mask | median s | GFLOP/s |\n|---|---|---|---|---|---|');
  for (const [mode, args] of Object.entries(browsers)) {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => 'nextscaleTimeAttention' in globalThis);
    for (const n of lengths) {
      for (const { mask, scaleEnds, flops } of attentionCases(n)) {
        const r = await page.evaluate(
          ([m, len, se, reps]) => globalThis.nextscaleTimeAttention(m, len, 64, se, reps),
          [mode, n, scaleEnds, reps],
        );
        console.log(
          `| gpu backend | ${r.mode}${r.adapter ? ` (${r.adapter})` : ''} | ${n} | ${mask} | ${(r.ms / 1000).toFixed(3)} | ${(flops / (r.ms / 1000) / 1e9).toFixed(2)} |`,
        );
      }
    }
    await browser.close();
  }
  server.close();
}
