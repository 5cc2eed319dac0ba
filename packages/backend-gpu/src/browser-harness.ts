/**
 * Test support (not bundled): serves the browser check bundle and the tiny fixtures on 127.0.0.1 and
 * opens them in headless Chromium (Debian's `chromium`; CI installs it, elsewhere set CHROMIUM_PATH).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildBrowserBundle } from '../browser/build.mjs';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

export interface CheckServer {
  url: string;
  close(): Promise<void>;
}

export async function startCheckServer(): Promise<CheckServer> {
  if (!existsSync(executablePath))
    throw new Error(
      `no Chromium at ${executablePath}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  const bundle = readFileSync(await buildBrowserBundle());
  const fixtures = fileURLToPath(new URL('../../core/fixtures/var-tiny/', import.meta.url));
  const server: Server = createServer((req, res) => {
    const fixture = /^\/fixtures\/(var|vae|refs)\.safetensors$/.exec(req.url ?? '');
    if (fixture)
      res
        .writeHead(200, { 'content-type': 'application/octet-stream' })
        .end(readFileSync(`${fixtures}${fixture[1]}.safetensors`));
    else if (req.url === '/check.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>nextscale gpu check</title><script src="/check.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Opens the check page; page errors are collected for the caller to assert on. */
export async function openCheckPage(
  url: string,
  extraFlags: string[] = [],
): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await chromium.launch({ executablePath, args: [...FLAGS, ...extraFlags] });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => 'nextscaleAttentionCheck' in globalThis, undefined, { timeout: 30_000 });
  return { browser, page, errors };
}
