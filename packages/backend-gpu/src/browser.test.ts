/**
 * The browser check: the built backend-gpu + core bundle runs exact attention in headless Chromium,
 * in WebGL2 (SwiftShader) and WebGPU shader modes, against core's float64 reference.
 * Needs Debian's `chromium` (CI installs it; elsewhere set CHROMIUM_PATH).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckPage, startCheckServer, WEBGPU_FLAGS, type CheckServer } from './browser-harness.js';

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

let server: CheckServer;

beforeAll(async () => {
  server = await startCheckServer();
});

afterAll(async () => {
  await server?.close();
});

async function inPage<T>(extraFlags: string[], fn: (page: Page) => Promise<T>): Promise<T> {
  const { browser, page, errors } = await openCheckPage(server.url, extraFlags);
  try {
    const result = await fn(page);
    expect(errors).toEqual([]);
    return result;
  } finally {
    await browser.close();
  }
}

const run = (mode?: string) => (page: Page) =>
  page.evaluate(
    (m) =>
      (globalThis as unknown as { nextscaleAttentionCheck(m?: string): Promise<CheckResult> }).nextscaleAttentionCheck(
        m,
      ),
    mode,
  );

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

  for (const [mode, flags] of [
    ['webgl2', []],
    ['webgpu', WEBGPU_FLAGS],
  ] as const) {
    it(`runs a tiny-model generation in the page on ${mode} kernels and reproduces the reference tokens and image`, async () => {
      const r = await inPage([...flags], (page) =>
        page.evaluate(
          (m) =>
            (
              globalThis as unknown as {
                nextscaleGenerationCheck(
                  m: string,
                  f: string,
                ): Promise<{
                  mode: string;
                  tokenMismatches: number[];
                  imageErr: number;
                  backends: Record<string, number>;
                }>;
              }
            ).nextscaleGenerationCheck(m, '/fixtures'),
          mode,
        ),
      );
      expect(r.tokenMismatches).toEqual([0, 0, 0, 0]);
      expect(r.imageErr).toBeLessThan(1e-4);
      expect(Object.keys(r.backends)).toEqual(['gpu']);
    });
  }

  it('runs WebGPU (WGSL) kernels on the software adapter when asked for that mode', async () => {
    const r = await inPage(WEBGPU_FLAGS, run('webgpu'));
    expect(r.mode).toBe('webgpu');
    expect(r.autoSkipped.find((s) => s.mode === 'webgpu')?.reason).toMatch(
      /software fallback|no adapter|navigator\.gpu/,
    );
    expect(r.errFull).toBeLessThan(5e-6);
    expect(r.errMasked).toBeLessThan(5e-6);
    expect(r.errIncremental).toBeLessThan(5e-6);
  });
});
