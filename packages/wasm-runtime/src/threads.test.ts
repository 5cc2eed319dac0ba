import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_THREADS } from './control.js';
import { defaultThreads, parseThreads, poolPossible, ThreadsSettingError } from './threads.js';

describe('NEXTSCALE_THREADS', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('parses whole numbers from 1 to MAX_THREADS', () => {
    expect(parseThreads('1')).toBe(1);
    expect(parseThreads(' 3 ')).toBe(3);
    expect(parseThreads(String(MAX_THREADS))).toBe(MAX_THREADS);
  });

  it('refuses anything else with a typed error naming the variable and the valid range', () => {
    for (const bad of ['0', '-2', '1.5', 'many', '', '2x', String(MAX_THREADS + 1), '1e3']) {
      let caught: unknown;
      try {
        parseThreads(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(ThreadsSettingError);
      const e = caught as ThreadsSettingError;
      expect(e.code).toBe('E_USAGE');
      expect(e.variable).toBe('NEXTSCALE_THREADS');
      expect(e.message).toContain(`NEXTSCALE_THREADS=${bad}: expected a whole number of threads from 1 to ${MAX_THREADS}`);
    }
  });

  it('sizes the default from NEXTSCALE_THREADS, one thread for NEXTSCALE_ENGINE=wasm, else the cores', () => {
    vi.stubEnv('NEXTSCALE_ENGINE', '');
    vi.stubEnv('NEXTSCALE_THREADS', '3');
    expect(defaultThreads()).toBe(poolPossible() ? 3 : 1);
    vi.stubEnv('NEXTSCALE_ENGINE', 'wasm');
    expect(defaultThreads()).toBe(1);
    vi.stubEnv('NEXTSCALE_ENGINE', '');
    vi.stubEnv('NEXTSCALE_THREADS', '0');
    if (poolPossible()) expect(() => defaultThreads()).toThrow(ThreadsSettingError);
    vi.stubEnv('NEXTSCALE_THREADS', '');
    expect(defaultThreads()).toBeGreaterThanOrEqual(1);
    expect(defaultThreads()).toBeLessThanOrEqual(8);
  });
});
