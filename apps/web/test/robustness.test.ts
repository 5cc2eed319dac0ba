/**
 * What goes wrong, in the built app in headless Chromium: cancelling mid-way, weights files that are not
 * a VAR checkpoint, are truncated or do not fit each other, a browser without WebAssembly SIMD, a server
 * without cross-origin isolation. Each gives a visible message that says what to do, and the page still
 * generates afterwards.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeBrowser, open, repoDir, serve, waitForState, type Server } from './harness.js';

const SHIPPED = path.join(repoDir, 'packages/cli/assets/fashion-mnist');
const OTHER_VAE = path.join(repoDir, 'packages/core/fixtures/var-tiny/vae.safetensors');

/** A valid safetensors file holding one tensor named `x`: readable, but no VAR checkpoint. */
function otherSafetensors(): Buffer {
  const header = Buffer.from(JSON.stringify({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, Buffer.alloc(8)]);
}

let server: Server;
let plain: Server;
beforeAll(async () => {
  server = await serve();
  plain = await serve({ isolation: false });
});
afterAll(async () => {
  await closeBrowser();
  await server?.close();
  await plain?.close();
});

const message = (s: { page: import('playwright-core').Page }) => s.page.locator('#model-message').textContent();

describe('cancel', () => {
  it('stops within a scale, says where, and a later generation runs to the end', async () => {
    // The TypeScript engine and a batch of 16 make each scale take long enough to cancel inside one.
    const s = await open(`${server.url}?class=2&seed=1&batch=16&engine=js&autorun`);
    try {
      const { page } = s;
      await page.waitForFunction(() => Number(document.documentElement.dataset.scale ?? 0) >= 2, undefined, {
        timeout: 90_000,
      });
      const at = Number(
        await page.evaluate(() => {
          document.getElementById('cancel')!.click();
          return document.documentElement.dataset.scale;
        }),
      );
      expect(await waitForState(page, ['cancelled', 'done', 'error'])).toBe('cancelled');
      const final = Number(await page.evaluate(() => document.documentElement.dataset.scale));
      expect(final).toBeGreaterThanOrEqual(at);
      expect(final).toBeLessThanOrEqual(at + 1);
      expect(final).toBeLessThan(7);
      expect(await page.locator('#progress-text').textContent()).toBe(`cancelled after ${final} of 7 scales`);
      expect(await page.locator('#result').count()).toBe(0);

      await page.locator('#batch').fill('1');
      await page.locator('#engine').selectOption('wasm');
      await page.locator('#generate').click();
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('bad weights files', () => {
  it('not a checkpoint, truncated, a VQ-VAE that does not fit: one message each with the fix; the shipped model still generates', async () => {
    const s = await open(server.url);
    try {
      const { page } = s;
      await waitForState(page, ['ready']);
      const input = page.locator('#weights-input');

      await input.setInputFiles({
        name: 'notes.pth',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('just some text, not weights\n'.repeat(20)),
      });
      await expect
        .poll(() => message(s), { timeout: 20_000 })
        .toMatch(
          /^notes\.pth: not a weights file.*; open a VAR checkpoint \(var_d\*\.pth or \.safetensors\) and its VQ-VAE/,
        );
      const notWeights = (await message(s))!;
      expect(await page.locator('#model-message').getAttribute('class')).toMatch(/bad/);

      await input.setInputFiles({
        name: 'other.safetensors',
        mimeType: 'application/octet-stream',
        buffer: otherSafetensors(),
      });
      await expect
        .poll(() => message(s), { timeout: 20_000 })
        .toMatch(/other\.safetensors: not a VAR checkpoint: .*1 tensor \(x\).*open a var_d\*\.pth and its vae_\*\.pth/);

      const varBytes = readFileSync(path.join(SHIPPED, 'var.safetensors'));
      await input.setInputFiles([
        {
          name: 'var_cut.safetensors',
          mimeType: 'application/octet-stream',
          buffer: varBytes.subarray(0, Math.floor(varBytes.length / 2)),
        },
        {
          name: 'vae.safetensors',
          mimeType: 'application/octet-stream',
          buffer: readFileSync(path.join(SHIPPED, 'vae.safetensors')),
        },
      ]);
      await expect
        .poll(() => message(s), { timeout: 30_000 })
        .toMatch(/var_cut\.safetensors: truncated: .*get the file again/);
      const truncated = (await message(s))!;

      await input.setInputFiles([
        { name: 'var.safetensors', mimeType: 'application/octet-stream', buffer: varBytes },
        { name: 'vae_tiny.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(OTHER_VAE) },
      ]);
      await expect
        .poll(() => message(s), { timeout: 30_000 })
        .toMatch(
          /VQ-VAE was built for 4 scales, but .* has 7; var\.safetensors and vae_tiny\.safetensors do not make one model: open the VQ-VAE this VAR was trained with/,
        );
      const misfit = (await message(s))!;

      // One line each, no stack trace; the shipped model is still the one loaded, and it generates.
      for (const m of [notWeights, truncated, misfit]) {
        expect(m).not.toMatch(/\n|\bat .+:\d+:\d+/);
      }
      expect(await page.locator('#model-label').textContent()).toMatch(/^Fashion-MNIST \(shipped\)/);
      await page.locator('#generate').click();
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('browsers that lack something', () => {
  it('without WebAssembly SIMD: a notice saying what to do, the TypeScript engine selected visibly, and it generates', async () => {
    // Simulated: WebAssembly.validate answers false for any module using SIMD (opcode prefix 0xfd), as a browser without it does.
    const noSimd = `
      const validate = WebAssembly.validate.bind(WebAssembly);
      WebAssembly.validate = (bytes) => { const b = new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength); return b.includes(0xfd) ? false : validate(bytes); };
    `;
    const s = await open(`${server.url}?class=5&seed=2&autorun`, noSimd);
    try {
      const { page } = s;
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      expect(await page.locator('#notice-no-simd').textContent()).toMatch(
        /no WebAssembly SIMD.*TypeScript engine.*Update the browser/,
      );
      expect(await page.locator('#engine').inputValue()).toBe('js');
      expect(await page.locator('#engine option[value="wasm"]').isDisabled()).toBe(true);
      expect(await page.locator('#trace-summary').textContent()).toMatch(/engine js-4x4;/);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('without cross-origin isolation: a notice saying how to serve the page, and it still generates', async () => {
    const s = await open(`${plain.url}?class=4&seed=3&autorun`);
    try {
      const { page } = s;
      expect(await waitForState(page, ['done', 'error'])).toBe('done');
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.locator('#notice-no-isolation').textContent()).toMatch(
        /not cross-origin isolated.*pnpm web.*Cross-Origin-Embedder-Policy: require-corp/,
      );
      expect(await page.locator('#notice-no-simd').count()).toBe(0);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
