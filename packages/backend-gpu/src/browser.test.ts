/**
 * The browser check: the built backend-gpu + core bundle runs exact attention in headless Chromium,
 * in WebGL2 (SwiftShader) and WebGPU shader modes, against core's float64 reference.
 * Needs Debian's `chromium` (CI installs it; elsewhere set CHROMIUM_PATH).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserBundle } from '../browser/build.mjs';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface CheckResult {
  requested: string;
  mode: string;
  adapter: string | null;
  reason: string;
  autoMode: string;
  autoSkipped: { mode: string; reason: string }[];
  errMasked: number;
  errFull: number;
  errIncremental: number;
}

let server: Server;
let url: string;

beforeAll(async () => {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  const bundle = readFileSync(await buildBrowserBundle());
  const fixtures = fileURLToPath(new URL('../../core/fixtures/var-tiny/', import.meta.url));
  server = createServer((req, res) => {
    const fixture = /^\/fixtures\/(var|vae|refs)\.safetensors$/.exec(req.url ?? '');
    if (fixture) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(`${fixtures}${fixture[1]}.safetensors`));
    else if (req.url === '/check.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>nextscale gpu check</title><script src="/check.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function inPage<T>(extraFlags: string[], fn: (page: import('playwright-core').Page) => Promise<T>): Promise<T> {
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath, args: [...FLAGS, ...extraFlags] });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => 'nextscaleAttentionCheck' in globalThis, undefined, { timeout: 30_000 });
    const result = await fn(page);
    expect(errors).toEqual([]);
    return result;
  } finally {
    await browser?.close();
  }
}

const run = (mode?: string) => (page: import('playwright-core').Page) =>
  page.evaluate((m) => (globalThis as unknown as { nextscaleAttentionCheck(m?: string): Promise<CheckResult> }).nextscaleAttentionCheck(m), mode);

describe('gpu backend in headless Chromium', () => {
  it('runs WebGL2 shader kernels (SwiftShader) within float32 accuracy when asked for that mode', async () => {
    const r = await inPage([], run('webgl2'));
    expect(r.mode).toBe('webgl2');
    expect(r.adapter ?? '').toMatch(/swiftshader/i);
    expect(r.errFull).toBeLessThan(5e-6);
    expect(r.errMasked).toBeLessThan(5e-6);
    expect(r.errIncremental).toBeLessThan(5e-6);
  });

  it('does not choose the software WebGL2 renderer automatically, and says so', async () => {
    const r = await inPage([], run());
    expect(r.autoMode).toBe('webasm');
    expect(r.mode).toBe('webasm');
    expect(r.autoSkipped.find((s) => s.mode === 'webgl2')?.reason).toMatch(/software/);
    expect(r.errMasked).toBeLessThan(5e-6);
  });

  it('runs a tiny-model generation in the page on WebGL2 kernels and reproduces the reference tokens and image', async () => {
    const r = await inPage([], (page) =>
      page.evaluate(
        () => (globalThis as unknown as { nextscaleGenerationCheck(m: string, f: string): Promise<{ mode: string; tokenMismatches: number[]; imageErr: number; backends: Record<string, number> }> }).nextscaleGenerationCheck('webgl2', '/fixtures'),
      ),
    );
    expect(r.tokenMismatches).toEqual([0, 0, 0, 0]);
    expect(r.imageErr).toBeLessThan(1e-4);
    expect(Object.keys(r.backends)).toEqual(['gpu']);
  });

  it('runs WebGPU (WGSL) kernels on the software adapter when asked for that mode', async () => {
    const r = await inPage(['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader'], run('webgpu'));
    expect(r.mode).toBe('webgpu');
    expect(r.autoSkipped.find((s) => s.mode === 'webgpu')?.reason).toMatch(/software fallback|no adapter|navigator\.gpu/);
    expect(r.errFull).toBeLessThan(5e-6);
    expect(r.errMasked).toBeLessThan(5e-6);
    expect(r.errIncremental).toBeLessThan(5e-6);
  });
});
