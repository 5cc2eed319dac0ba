#!/usr/bin/env node
// Makes the README's screenshots (apps/web/docs/*.png) from the built app in headless Chromium:
//   node apps/web/scripts/screenshots.mjs      (after `pnpm --filter @nextscale/web build`)
// Small files: a 960×720 viewport at 1×, then pngquant (a 64-colour palette) when it is installed
// (`apt-get install pngquant`); without it the PNGs stay truecolor (about 3× larger) and it says so.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const app = fileURLToPath(new URL('..', import.meta.url));
const docs = path.join(app, 'docs');
const picture = path.resolve(app, '../../packages/cli/assets/docs/tshirt-t10k-19.png');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const server = await startServer({ port: 0 });
const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const shots = [];
try {
  const context = await browser.newContext({
    viewport: { width: 960, height: 720 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
  });
  const page = await context.newPage();
  const state = (s) =>
    page.waitForFunction((x) => x.includes(document.documentElement.dataset.state), s, { timeout: 120_000 });
  const shot = async (name, locator) => {
    const file = path.join(docs, `${name}.png`);
    await (locator ? page.locator(locator).screenshot({ path: file }) : page.screenshot({ path: file }));
    shots.push(file);
  };

  await page.goto(server.url);
  await state(['ready']);
  await shot('idle');

  await page.goto(`${server.url}?class=9&seed=3&batch=16&engine=js&autorun`);
  await page.waitForFunction(() => Number(document.documentElement.dataset.scale ?? 0) >= 4, undefined, {
    timeout: 120_000,
  });
  await shot('mid-generation');
  await state(['done']);
  await shot('done');
  await page.evaluate(() => document.getElementById('trace-title').scrollIntoView());
  await shot('trace');

  await page.goto(server.url);
  await state(['ready']);
  await page.locator('#picture-input').setInputFiles(picture);
  await page.waitForFunction(() => document.documentElement.dataset.picture === 'ready');
  await page.locator('#box-y0').fill('0.25');
  await page.locator('#box-y0').dispatchEvent('change');
  await page.locator('#edit-mode').selectOption('class');
  await page.locator('#edit-class').selectOption('3');
  await page.locator('#seed').fill('1');
  await page.locator('#edit').click();
  await state(['done']);
  // The right-hand column: the after picture (preview, then before/after in the strip) above the editor.
  const [a, b] = [await page.locator('.output').boundingBox(), await page.locator('.edit').boundingBox()];
  const scroll = await page.evaluate(() => scrollY);
  const file = path.join(docs, 'edit.png');
  await page.screenshot({
    path: file,
    fullPage: true,
    clip: { x: a.x - 8, y: a.y + scroll - 8, width: a.width + 16, height: b.y + b.height - a.y + 16 },
  });
  shots.push(file);
} finally {
  await browser.close();
  await server.close();
}

let quantized = false;
try {
  execFileSync('pngquant', ['--force', '--ext', '.png', '--speed', '1', '64', ...shots], { stdio: 'inherit' });
  quantized = true;
} catch {
  console.warn('screenshots: pngquant is not installed (apt-get install pngquant); the PNGs are truecolor');
}
for (const f of shots)
  console.log(
    `${path.relative(process.cwd(), f)}: ${Math.round(statSync(f).size / 1024)} KB${quantized ? ' (64 colours)' : ''}`,
  );
if (!existsSync(docs)) process.exit(1);
