/**
 * The built app in headless Chromium, generating from the URL: the image's pixels are the CLI's, every
 * scale is reported (and previewed) in order, nothing is fetched from another origin, and nothing is
 * logged as an error.
 */
import { describe, expect, it } from 'vitest';
import { open, useAppServer, waitForState } from './harness.js';
import { cliImage, decodeDataUrl, differingPixels } from './pixels.js';

/** Records every value `<html data-scale>` takes, with the preview canvas's size and pixel sum at that moment. */
const RECORD_SCALES = `
  window.__scales = [];
  new MutationObserver(() => {
    const s = document.documentElement.dataset.scale;
    if (s === undefined) return;
    const c = document.getElementById('preview');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < px.length; i++) sum += px[i];
    window.__scales.push({ scale: Number(s), width: c.width, sum });
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-scale'] });
`;

const server = useAppServer();

describe('generation from the URL', () => {
  for (const [cls, seed] of [
    [3, 1],
    [7, 42],
  ] as const) {
    it(`class ${cls}, seed ${seed}: the CLI's pixels, every scale 1…7 previewed in order, same-origin requests only, no console errors`, async () => {
      // With the service worker running, as a user has it (it fetches only the app's own files).
      const s = await open(`${server.url}?class=${cls}&seed=${seed}&autorun`, RECORD_SCALES, { serviceWorkers: true });
      try {
        expect(await waitForState(s.page, ['done', 'error'])).toBe('done');
        const page = decodeDataUrl(
          await s.page
            .locator('#result')
            .getAttribute('src')
            .then((x) => x!),
        );
        const cli = cliImage(['--class', String(cls), '--seed', String(seed)]);
        expect([page.width, page.height]).toEqual([32, 32]);
        expect(differingPixels(page, cli)).toBe(0);

        const scales = await s.page.evaluate(
          () => (window as unknown as { __scales: { scale: number; width: number; sum: number }[] }).__scales,
        );
        expect(scales.map((x) => x.scale)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        // A 32×32 preview was on the canvas at every step, and it changed from coarse to fine.
        expect(scales.every((x) => x.width === 32 && x.sum > 32 * 32 * 255)).toBe(true);
        expect(new Set(scales.map((x) => x.sum)).size).toBeGreaterThan(3);

        const origin = new URL(server.url).origin;
        expect(s.requests.length).toBeGreaterThan(3);
        expect(
          s.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')),
        ).toEqual([]);
        expect(s.errors).toEqual([]);
        // The trace covers the four transformer blocks, every head on the exact cpu backend.
        const sites = await s.page.locator('#trace tbody th').allTextContents();
        expect(sites.filter((x) => x.startsWith('var.'))).toEqual([
          'var.blocks.0.attn',
          'var.blocks.1.attn',
          'var.blocks.2.attn',
          'var.blocks.3.attn',
        ]);
        expect(await s.page.locator('#trace tbody tr td:nth-child(3)').first().textContent()).toBe('cpu');
      } finally {
        await s.close();
      }
    });
  }

  it('with the low-rank backend forced, the trace shows certified errors per head group', async () => {
    const s = await open(`${server.url}?class=1&seed=0&backend=lowrank&autorun`);
    try {
      expect(await waitForState(s.page, ['done', 'error'])).toBe('done');
      const rows = await s.page
        .locator('#trace tbody tr')
        .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)));
      const blocks = rows.filter((r) => r[0].startsWith('var.'));
      expect(blocks).toHaveLength(4);
      for (const r of blocks) {
        expect(r[2]).toBe('lowrank');
        expect(r[4]).toBe('subcritical');
        expect(Number(r[5])).toBeGreaterThan(0);
        expect(Number(r[5])).toBeLessThanOrEqual(0.01);
      }
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('a bad URL parameter is an error naming it; the page stays usable', async () => {
    const s = await open(`${server.url}?class=3&cfg=lots&autorun`);
    try {
      expect(await waitForState(s.page, ['error', 'done'])).toBe('error');
      expect(await s.page.locator('#error').textContent()).toMatch(/cfg=lots is not a number/);
      await s.page.locator('#cfg').fill('2');
      await s.page.locator('#generate').click();
      expect(await waitForState(s.page, ['done', 'error'])).toBe('done');
      expect(await s.page.locator('#error').textContent()).toBe('');
    } finally {
      await s.close();
    }
  });
});
