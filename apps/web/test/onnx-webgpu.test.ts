/**
 * The 'onnx-webgpu' engine in the page: @nextscale/engine-onnx on onnxruntime-web's native WebGPU execution provider
 * (the `onnxruntime-web/webgpu` entry, not JSEP), in headless Chromium with a SwiftShader adapter (a CPU rasteriser:
 * right for correctness, far too slow for timing). Compared with the CLI on onnxruntime-node (NEXTSCALE_ENGINE=onnx):
 * the GPU's kernels sum in another order, so the assertion is at most 1 of 255 per colour channel (a different token
 * anywhere changes its 4×4-pixel patch, and the decoder's neighbourhood, by far more).
 */
import { describe, expect, it } from 'vitest';
import { open, useAppServer, waitForState } from './harness.js';
import { cliImage, decodeDataUrl, differingPixels, maxChannelDifference } from './pixels.js';
import { editOnPage, EDIT_CLI_ARGS } from './edit-on-page.js';

const server = useAppServer();

describe('the onnx-webgpu engine (onnxruntime-web, native WebGPU execution provider)', () => {
  it("class 3, seed 1 and an in-paint: the CLI's onnx pixels within 1/255; the option and the trace name the adapter", async () => {
    const s = await open(`${server.url}?class=3&seed=1&engine=onnx-webgpu&preview=0&autorun`, undefined, {
      browser: 'webgpu',
    });
    try {
      const state = await waitForState(s.page, ['done', 'error'], 180_000);
      expect(state === 'done' ? 'done' : await s.page.locator('#error').textContent()).toBe('done');
      const page = decodeDataUrl((await s.page.locator('#result').getAttribute('src'))!);
      const cli = cliImage(['--class', '3', '--seed', '1'], 'generate', 'onnx');
      console.log(
        `webgpu vs onnxruntime-node: ${differingPixels(page, cli)} of 1024 pixels differ, largest channel difference ${maxChannelDifference(page, cli)}/255`,
      );
      expect(maxChannelDifference(page, cli)).toBeLessThanOrEqual(1);
      const option = (await s.page.locator('#engine option[value="onnx-webgpu"]').textContent())!;
      const adapter = /WebGPU on (.+)\)$/.exec(option)?.[1];
      expect(adapter, option).toMatch(/swiftshader/i);
      expect(await s.page.locator('#trace-summary').textContent()).toContain(
        `engine onnxruntime-web 1.31.1 webgpu on ${adapter} (`,
      );
      // the adapter's buffer limits were checked before the engine took the weights
      expect(await s.page.locator('#trace-summary').textContent()).toMatch(
        new RegExp(`fits ${adapter!.replace(/[()]/g, '\\$&')}'s maxBufferSize \\d`),
      );

      const edited = await editOnPage(s.page, 'onnx-webgpu');
      const cliEdit = cliImage(EDIT_CLI_ARGS, 'edit', 'onnx');
      console.log(
        `webgpu edit vs onnxruntime-node: ${differingPixels(edited, cliEdit)} of 1024 pixels differ, largest channel difference ${maxChannelDifference(edited, cliEdit)}/255`,
      );
      expect(maxChannelDifference(edited, cliEdit)).toBeLessThanOrEqual(1);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
