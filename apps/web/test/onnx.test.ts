/**
 * The 'onnx' engine in the page: @nextscale/engine-onnx on onnxruntime-web (wasm execution provider, on the
 * browser's cores: navigator.hardwareConcurrency threads, at most 8), awaited in the generation worker.
 * Compared with the CLI on onnxruntime-node (NEXTSCALE_ENGINE=onnx): the same graphs on another build of ONNX Runtime;
 * the pixels are asserted equal (measured: they are, on 2 threads here), and the differing-pixel count is printed.
 */
import { describe, expect, it } from 'vitest';
import { open, useAppServer, waitForState } from './harness.js';
import { cliImage, decodeDataUrl, differingPixels, maxChannelDifference } from './pixels.js';
import { editOnPage, EDIT_CLI_ARGS } from './edit-on-page.js';

const server = useAppServer();

describe('the onnx engine (onnxruntime-web)', () => {
  it("class 3, seed 1: the CLI's onnx pixels on the threaded engine, its thread count in the status, same-origin requests only", async () => {
    const s = await open(`${server.url}?class=3&seed=1&engine=onnx&autorun`);
    try {
      const state = await waitForState(s.page, ['done', 'error']);
      expect(state === 'done' ? 'done' : await s.page.locator('#error').textContent()).toBe('done');
      const page = decodeDataUrl(
        await s.page
          .locator('#result')
          .getAttribute('src')
          .then((x) => x!),
      );
      const cli = cliImage(['--class', '3', '--seed', '1'], 'generate', 'onnx');
      const diff = maxChannelDifference(page, cli);
      console.log(
        `onnxruntime-web vs onnxruntime-node: ${differingPixels(page, cli)} of 1024 pixels differ, largest channel difference ${diff}/255`,
      );
      expect(diff).toBe(0);
      const threads = Math.min(8, await s.page.evaluate(() => navigator.hardwareConcurrency));
      expect(threads).toBeGreaterThan(1);
      expect(await s.page.locator('#trace-summary').textContent()).toContain(
        `engine onnxruntime-web 1.31.1 wasm (${threads} threads)`,
      );
      // the memory check ran before the engine took the weights (the shipped model: 5.7 MB of them)
      expect(await s.page.locator('#trace-summary').textContent()).toMatch(
        /fits onnxruntime-web's wasm32 instance: weights \d+\.\d MB \+ KV cache .* of 4\.29 GB/,
      );
      expect(await s.page.locator('#engine').inputValue()).toBe('onnx');
      // the tests' Chromium runs with --disable-gpu: no adapter, so the WebGPU execution provider is not offered, and the
      // option says why
      const webgpu = s.page.locator('#engine option[value="onnx-webgpu"]');
      await s.page.waitForFunction(() =>
        /no adapter/.test(document.querySelector('#engine option[value="onnx-webgpu"]')?.textContent ?? ''),
      );
      expect(await webgpu.textContent()).toMatch(
        /WebGPU: no adapter here, (the browser found no usable GPU|this browser has no WebGPU)/,
      );
      expect(await webgpu.isDisabled()).toBe(true);

      // an in-paint on the threaded engine: the CLI's onnx pixels too
      const edited = await editOnPage(s.page, 'onnx');
      const cliEdit = cliImage(EDIT_CLI_ARGS, 'edit', 'onnx');
      console.log(
        `onnxruntime-web edit vs onnxruntime-node: ${differingPixels(edited, cliEdit)} of 1024 pixels differ`,
      );
      expect(maxChannelDifference(edited, cliEdit)).toBe(0);
      const origin = new URL(server.url).origin;
      expect(s.requests.some((u) => u === `${origin}/ort/ort-wasm-simd-threaded.asyncify.wasm`)).toBe(true);
      // the threads' workers start from the glue .mjs, served by the app too
      expect(s.requests.some((u) => u === `${origin}/ort/ort-wasm-simd-threaded.asyncify.mjs`)).toBe(true);
      expect(
        s.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')),
      ).toEqual([]);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('WebGPU asked for (URL) where there is no adapter: the generation fails saying why, never another engine', async () => {
    const s = await open(`${server.url}?class=3&seed=1&engine=onnx-webgpu&autorun`);
    try {
      expect(await waitForState(s.page, ['done', 'error'])).toBe('error');
      expect(await s.page.locator('#error').textContent()).toMatch(
        /WebGPU was asked for, but this browser (gives the worker no WebGPU adapter|has no WebGPU)/,
      );
      expect(await s.page.locator('#result').count()).toBe(0);
    } finally {
      await s.close();
    }
  });

  it("when ONNX Runtime's .wasm cannot be fetched, the generation fails with a visible message (no fall back to wasm)", async () => {
    const s = await open('about:blank');
    try {
      await s.context.route('**/ort/*.wasm', (route) => route.fulfill({ status: 404, body: 'not found' }));
      await s.page.goto(`${server.url}?class=3&seed=1&engine=onnx&autorun`);
      expect(await waitForState(s.page, ['done', 'error'])).toBe('error');
      const message = await s.page.locator('#error').textContent();
      expect(message).toMatch(/onnxruntime-web failed to start \(wasm execution provider, \.wasm from .*\/ort\/\)/);
      expect(await s.page.locator('#error').isVisible()).toBe(true);
      expect(await s.page.locator('#result').count()).toBe(0);
    } finally {
      await s.close();
    }
  });
});
