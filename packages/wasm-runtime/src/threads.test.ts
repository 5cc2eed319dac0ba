import { describe, expect, it, vi } from 'vitest';
import { MAX_THREADS } from './control.js';
import { checkThreads, defaultThreads, poolPossible } from './threads.js';

describe('threads', () => {
  it('accepts whole numbers from 1 to MAX_THREADS and refuses anything else (never clamps)', () => {
    expect(checkThreads(1)).toBe(1);
    expect(checkThreads(MAX_THREADS)).toBe(MAX_THREADS);
    for (const bad of [0, -2, 1.5, NaN, MAX_THREADS + 1])
      expect(() => checkThreads(bad), String(bad)).toThrow(/threads must be a whole number from 1 to 64/);
  });

  it('defaults to the cores (at most 8) where a pool can run, else 1, whatever the environment says', () => {
    vi.stubEnv('NEXTSCALE_THREADS', '3');
    vi.stubEnv('NEXTSCALE_ENGINE', 'wasm');
    try {
      const t = defaultThreads();
      if (poolPossible()) {
        expect(t).toBeGreaterThanOrEqual(1);
        expect(t).toBeLessThanOrEqual(8);
      } else expect(t).toBe(1);
      // the environment is core's settings module's business: the same default without the variables
      vi.unstubAllEnvs();
      expect(defaultThreads()).toBe(t);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
