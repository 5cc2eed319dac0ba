/**
 * Test support: the built app (dist, built once per run if missing or stale) served by the app's own
 * server on a free loopback port, opened in Debian's headless Chromium (CHROMIUM_PATH elsewhere), with
 * every console message, page error and request recorded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { CHROMIUM_FLAGS } from '../scripts/site.mjs';

export const appDir = fileURLToPath(new URL('..', import.meta.url));
export const repoDir = path.resolve(appDir, '../..');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** 'plain': no WebGPU adapter; 'webgpu': one on SwiftShader (site.mjs's CHROMIUM_FLAGS). */
export type BrowserKind = keyof typeof CHROMIUM_FLAGS;

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist when it is missing or older than the sources (turbo builds it before `test` anyway). */
export function ensureBuilt(): void {
  const index = path.join(appDir, 'dist/index.html');
  const sources = Math.max(
    newest(path.join(appDir, 'src')),
    newest(path.join(appDir, 'scripts')),
    ...['index.html', 'vite.config.ts'].map((f) => statSync(path.join(appDir, f)).mtimeMs),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // NODE_ENV=production: vitest sets 'test', with which vite builds import.meta.env.PROD false (no service worker)
  execFileSync(process.execPath, [path.join(appDir, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: appDir,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

export interface Server {
  url: string;
  close(): Promise<void>;
}

export async function serve(options: { isolation?: boolean } = {}): Promise<Server> {
  ensureBuilt();
  return startServer({ port: 0, ...options });
}

/** The app's server for one test file: started before its tests; it and the browser are closed after. */
export function useAppServer(): { readonly url: string } {
  let server: Server | undefined;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await closeBrowser();
    await server?.close();
  });
  return {
    get url() {
      if (!server) throw new Error('the app server is not started yet (use .url inside a test)');
      return server.url;
    },
  };
}

export interface Session {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** console errors and page errors, as text */
  errors: string[];
  /** every request URL the page and its workers made */
  requests: string[];
  close(): Promise<void>;
}

const shared = new Map<BrowserKind, Promise<Browser>>();

/** One headless Chromium of each kind per test file (closeBrowser in afterAll); every `open` gets its own context. */
export function browser(kind: BrowserKind = 'plain'): Promise<Browser> {
  if (!existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath}: apt-get install chromium, or set CHROMIUM_PATH`);
  let b = shared.get(kind);
  if (!b) shared.set(kind, (b = chromium.launch({ executablePath, args: CHROMIUM_FLAGS[kind] })));
  return b;
}

export async function closeBrowser(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  for (const b of all) await (await b).close();
}

export interface OpenOptions {
  viewport?: { width: number; height: number };
  /** Service workers are blocked unless asked for (a test of offline use does). */
  serviceWorkers?: boolean;
  /** Which Chromium (default 'plain': no WebGPU adapter). */
  browser?: BrowserKind;
}

/** Opens `url` in a fresh context of the shared headless Chromium; `init` runs in the page before its scripts. */
export async function open(url: string, init?: string, options: OpenOptions = {}): Promise<Session> {
  const b = await browser(options.browser);
  const context = await b.newContext({
    viewport: options.viewport ?? { width: 1100, height: 900 },
    serviceWorkers: options.serviceWorkers ? 'allow' : 'block',
  });
  const errors: string[] = [];
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  if (init) await page.addInitScript(init);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && errors.push(`worker: ${m.text()}`)));
  await page.goto(url);
  return { browser: b, context, page, errors, requests, close: () => context.close() };
}

/** Waits until `<html data-state>` is one of `states`; returns it. */
export async function waitForState(page: Page, states: string[], timeout = 90_000): Promise<string> {
  await page.waitForFunction((s) => s.includes(document.documentElement.dataset.state ?? ''), states, { timeout });
  return (await page.evaluate(() => document.documentElement.dataset.state))!;
}
