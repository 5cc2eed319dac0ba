/**
 * Offline after one load: the built app's service worker caches every file of the build (the shipped
 * model included). The test loads the page once, then takes the network away twice over (the browser
 * context goes offline and the server is shut down), opens the page again and generates: the CLI's pixels,
 * still cross-origin isolated (the cached responses keep their COOP/COEP headers), and again on the onnx engine
 * (onnxruntime-web's .wasm cached as well).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeBrowser, open, serve } from './harness.js';
import { waitForState } from './harness.js';
import { cliImage, decodeDataUrl, differingPixels } from './pixels.js';

afterAll(() => closeBrowser());

describe('offline', () => {
  it('after one load, the page reloads and generates with the server gone and the browser offline', async () => {
    const server = await serve();
    let closed = false;
    const s = await open(server.url, undefined, { serviceWorkers: true });
    try {
      const { page, context } = s;
      await waitForState(page, ['ready']);
      await page.waitForFunction(() => document.documentElement.dataset.offline === 'ready', undefined, {
        timeout: 30_000,
      });
      expect(await page.locator('#offline-status').textContent()).toMatch(/reloads and generates offline/);

      await server.close();
      closed = true;
      await context.setOffline(true);
      // Nothing answers now: a fetch past the service worker fails.
      expect(
        await page.evaluate(
          (u) =>
            fetch(`${u}nope-${Date.now()}`).then(
              () => 'answered',
              () => 'failed',
            ),
          server.url,
        ),
      ).toBe('failed');
      expect(s.errors).toEqual(['Failed to load resource: net::ERR_FAILED']); // that fetch, and nothing else so far
      s.errors.length = 0;

      await page.goto(`${server.url}?class=3&seed=1&autorun`);
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      const img = decodeDataUrl((await page.locator('#result').getAttribute('src'))!);
      expect(differingPixels(img, cliImage(['--class', '3', '--seed', '1']))).toBe(0);
      expect(s.errors).toEqual([]);

      // the onnx engine too, threaded: onnxruntime-web's worker chunk, its .wasm and its threads' glue .mjs (dist/ort/)
      // come from the cache
      await page.goto(`${server.url}?class=3&seed=1&engine=onnx&autorun`);
      const state = await waitForState(page, ['done', 'error']);
      expect(state === 'done' ? 'done' : await page.locator('#error').textContent()).toBe('done');
      const onnxImg = decodeDataUrl((await page.locator('#result').getAttribute('src'))!);
      expect(differingPixels(onnxImg, cliImage(['--class', '3', '--seed', '1'], 'generate', 'onnx'))).toBe(0);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
      if (!closed) await server.close();
    }
  });
});
