/**
 * Editing in the built app, driven through its UI in headless Chromium: a picture opened with the file
 * picker, the box set with the keyboard and by dragging, an in-paint with a class; the edit's pixels are
 * those `NEXTSCALE_ENGINE=wasm nextscale edit` writes for the same PNG (already at the model's 32×32, so
 * no resizing enters the comparison), box, class and seed.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { open, repoDir, useAppServer, waitForState } from './harness.js';
import { cliImage, decodeDataUrl, decodePng, differingPixels } from './pixels.js';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const TSHIRT = path.join(repoDir, 'packages/cli/assets/docs/tshirt-t10k-19.png');
const boxFields = ['#box-y0', '#box-x0', '#box-y1', '#box-x1'];

const server = useAppServer();

describe('editing a picture', () => {
  it("keyboard box, in-paint as class 'Trouser': the CLI's pixels, before and after shown, every scale previewed", async () => {
    const s = await open(server.url);
    try {
      const { page } = s;
      await waitForState(page, ['ready']);
      await page.locator('#picture-input').setInputFiles(TSHIRT);
      await page.waitForFunction(() => document.documentElement.dataset.picture === 'ready');
      expect(await page.locator('#picture-message').textContent()).toMatch(/32×32, used as it is/);
      // The default box is the centre half; two cells right, then one cell shorter from the bottom.
      expect(await Promise.all(boxFields.map((f) => page.locator(f).inputValue()))).toEqual([
        '0.25',
        '0.25',
        '0.75',
        '0.75',
      ]);
      await page.locator('#box').focus();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Shift+ArrowUp');
      expect(await Promise.all(boxFields.map((f) => page.locator(f).inputValue()))).toEqual([
        '0.25',
        '0.5',
        '0.625',
        '1',
      ]);
      expect(await page.locator('#box').getAttribute('aria-label')).toMatch(
        /rows 2 to 5, columns 4 to 8 of the 8×8 token grid/,
      );

      await page.locator('#edit-mode').selectOption('class');
      await page.locator('#edit-class').selectOption('1');
      await page.locator('#seed').fill('5');
      await page.locator('#edit').click();
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      expect(await page.locator('#error').textContent()).toBe('');

      const edited = decodeDataUrl((await page.locator('#result').getAttribute('src'))!);
      const cli = cliImage(
        ['--image', TSHIRT, '--box', '0.25,0.5,0.625,1', '--mode', 'inpaint', '--class', '1', '--seed', '5'],
        'edit',
      );
      expect([edited.width, edited.height]).toEqual([32, 32]);
      expect(differingPixels(edited, cli)).toBe(0);
      // The edit changed the picture (inside the box), and "before" is the input's exact pixels.
      const input = decodePng(readFileSync(TSHIRT));
      const beforeShown = decodeDataUrl((await page.locator('#before-result').getAttribute('src'))!);
      expect(differingPixels(beforeShown, input)).toBe(0);
      expect(differingPixels(edited, input)).toBeGreaterThan(20);
      expect(await page.evaluate(() => document.documentElement.dataset.scale)).toBe('7');

      // Out-painting the same box, unconditional (the CLI's default class), on the same page.
      await page.locator('#edit-mode').selectOption('outpaint');
      await page.locator('#edit-class').selectOption('10');
      await page.locator('#edit').click();
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      const outpainted = decodeDataUrl((await page.locator('#result').getAttribute('src'))!);
      const cliOut = cliImage(
        ['--image', TSHIRT, '--box', '0.25,0.5,0.625,1', '--mode', 'outpaint', '--seed', '5'],
        'edit',
      );
      expect(differingPixels(outpainted, cliOut)).toBe(0);
      expect(differingPixels(outpainted, edited)).toBeGreaterThan(20);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('a file that is not a picture is a message; another size is cropped and resized, said so; a dragged box snaps to the token grid', async () => {
    const s = await open(server.url);
    try {
      const { page } = s;
      await waitForState(page, ['ready']);
      await page
        .locator('#picture-input')
        .setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
      await expect
        .poll(() => page.locator('#picture-message').textContent())
        .toMatch(/notes\.png is not a picture this browser can decode.*open a PNG or JPEG/);
      expect(await page.locator('#edit').isDisabled()).toBe(true);

      // A 64×48 picture: centre-cropped to 48×48 and resized to the model's 32×32, and the page says so.
      const wide = new PNG({ width: 64, height: 48 });
      for (let i = 0; i < 64 * 48; i++) wide.data.set([(i % 64) * 4, 128, 255 - (i % 64) * 4, 255], i * 4);
      await page
        .locator('#picture-input')
        .setInputFiles({ name: 'wide.png', mimeType: 'image/png', buffer: PNG.sync.write(wide) });
      await page.waitForFunction(() => document.documentElement.dataset.picture === 'ready');
      expect(await page.locator('#picture-message').textContent()).toBe(
        "wide.png is 64×48; centre-cropped to 48×48 and resized to 32×32 (the browser's high-quality filter, createImageBitmap resizeQuality 'high')",
      );
      expect(await page.locator('#before').evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([32, 32]);
      expect(await page.locator('#edit').isDisabled()).toBe(false);

      await page.locator('#picture-input').setInputFiles(TSHIRT);
      await expect.poll(() => page.locator('#picture-message').textContent()).toMatch(/^tshirt-t10k-19\.png: 32×32/);
      await page.locator('#editor').scrollIntoViewIfNeeded();
      const r = (await page.locator('#editor').boundingBox())!;
      // From the middle of cell (row 0, col 1) to the middle of cell (row 2, col 3): rows 0..3, columns 1..4.
      const at = (row: number, col: number) =>
        [r.x + ((col + 0.5) / 8) * r.width, r.y + ((row + 0.5) / 8) * r.height] as const;
      await page.mouse.move(...at(0, 1));
      await page.mouse.down();
      await page.mouse.move(...at(1, 2), { steps: 3 });
      await page.mouse.move(...at(2, 3), { steps: 3 });
      await page.mouse.up();
      expect(await Promise.all(boxFields.map((f) => page.locator(f).inputValue()))).toEqual([
        '0',
        '0.125',
        '0.375',
        '0.5',
      ]);
      expect(await page.locator('#edit').isDisabled()).toBe(false);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
