/**
 * The shared conformance suite against the gpu backend's shader kernels running in headless Chromium
 * (WebGL2 and WebGPU, both on SwiftShader): a proxy backend forwards every call to the page and returns its result or
 * its error, so the suite's checks (numbers, masks, incremental state, NaN rejection, dispose) apply
 * to the real in-page kernels.
 */
import {
  ATTENTION_API_VERSION,
  Tensor,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type TensorLike,
} from '@nextscale/core';
import { testAttentionBackend } from '@nextscale/core/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { backend } from './index.js';
import { openCheckPage, startCheckServer, WEBGPU_FLAGS, type CheckServer } from './browser-harness.js';

let server: CheckServer;
const browsers: Browser[] = [];
const pages: Partial<Record<'webgl2' | 'webgpu', Page>> = {};

beforeAll(async () => {
  server = await startCheckServer();
  for (const [mode, flags] of [
    ['webgl2', []],
    ['webgpu', WEBGPU_FLAGS],
  ] as const) {
    const opened = await openCheckPage(server.url, [...flags]);
    browsers.push(opened.browser);
    pages[mode] = opened.page;
  }
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
});

type Remote = Record<string, (...args: unknown[]) => Promise<unknown>>;
const wire = (t: TensorLike) => ({ shape: [...t.shape], data: Array.from(t.data) });

/** Calls `nextscaleRemote[op](...args)` in the page; a rejection there rejects here with its message. */
function callIn<T>(page: Page, op: string, ...args: unknown[]): Promise<T> {
  return page
    .evaluate(
      ([o, a]) =>
        (globalThis as unknown as { nextscaleRemote: Remote }).nextscaleRemote[o as string]!(
          ...(a as unknown[]),
        ) as Promise<T>,
      [op, args] as const,
    )
    .catch((err: Error) => {
      // Keep the page's own message (the suite matches on it), without Playwright's wrapper text.
      throw new Error(err.message.replace(/^page\.evaluate: (Error: )?/, '').split('\n')[0]);
    });
}

function remoteInstance(call: <T>(op: string, ...args: unknown[]) => Promise<T>, id: number): AttentionInstance {
  return {
    backendId: 'gpu',
    async attend(q, k, v, spec) {
      const out = await call<{ shape: number[]; data: number[] }>('attend', id, wire(q), wire(k), wire(v), spec);
      return { output: new Tensor(out.shape, Float32Array.from(out.data)) };
    },
    createState(options) {
      const created = call<number>('createState', id, options);
      created.catch(() => undefined);
      let length = 0;
      const state: AttentionState = {
        get length() {
          return length;
        },
        async append(k, v) {
          length = await call<number>('append', await created, wire(k), wire(v));
        },
        async attend(q) {
          const out = await call<{ shape: number[]; data: number[] }>('stateAttend', await created, wire(q));
          return { output: new Tensor(out.shape, Float32Array.from(out.data)) };
        },
        dispose() {
          void created.then((sid) => call('dispose', sid)).catch(() => undefined);
        },
      };
      return state;
    },
    async dispose() {
      await call('dispose', id);
    },
  };
}

function inPage(mode: 'webgl2' | 'webgpu'): AttentionBackend {
  const call = <T>(op: string, ...args: unknown[]) => callIn<T>(pages[mode]!, op, ...args);
  return {
    ...backend,
    apiVersion: ATTENTION_API_VERSION,
    probe: () => call('probe'),
    async create() {
      return remoteInstance(call, await call<number>('create', mode));
    },
  };
}

testAttentionBackend(inPage('webgl2'), { tolerance: 5e-6, label: 'WebGL2 shaders in headless Chromium' });
testAttentionBackend(inPage('webgpu'), { tolerance: 5e-6, label: 'WebGPU (WGSL) in headless Chromium' });
