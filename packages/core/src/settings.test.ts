import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { MAX_THREADS, readSettings } from './settings.js';

describe('readSettings: one rule per NEXTSCALE_* variable', () => {
  it('reads nothing from an empty environment (empty values count as unset)', () => {
    expect(readSettings({})).toEqual({ dawnFlags: [] });
    expect(readSettings({ NEXTSCALE_THREADS: '', NEXTSCALE_ENGINE: ' ' })).toEqual({ dawnFlags: [] });
  });

  it('reads each variable with its rule', () => {
    const s = readSettings({
      NEXTSCALE_ENGINE: ' ONNX ',
      NEXTSCALE_THREADS: ' 3 ',
      NEXTSCALE_ONNX_RELEASE_WEIGHTS: '0',
      NEXTSCALE_ONNX_PREPACK: '1',
      NEXTSCALE_ONNX_WINOGRAD: '0',
      NEXTSCALE_DAWN_FLAGS: 'backend=vulkan, ,x',
      NEXTSCALE_WEBGPU_FEATURE_LEVEL: 'compatibility',
    });
    expect(s).toEqual({
      engine: 'onnx',
      threads: 3,
      onnxReleaseWeights: false,
      onnxPrepack: true,
      onnxWinograd: false,
      dawnFlags: ['backend=vulkan', 'x'],
      webgpuFeatureLevel: 'compatibility',
    });
  });

  it('refuses a thread count that is not a whole number from 1 to MAX_THREADS, naming the variable', () => {
    expect(readSettings({ NEXTSCALE_THREADS: String(MAX_THREADS) }).threads).toBe(MAX_THREADS);
    for (const bad of ['0', '-2', '1.5', 'many', '2x', String(MAX_THREADS + 1), '1e3']) {
      expect(() => readSettings({ NEXTSCALE_THREADS: bad }), bad).toThrow(UsageError);
      expect(() => readSettings({ NEXTSCALE_THREADS: bad }), bad).toThrow(
        `NEXTSCALE_THREADS=${bad}: expected a positive integer from 1 to ${MAX_THREADS}`,
      );
    }
  });

  it('refuses a switch that is neither 0 nor 1', () => {
    expect(() => readSettings({ NEXTSCALE_ONNX_PREPACK: 'off' })).toThrow(
      'NEXTSCALE_ONNX_PREPACK=off: expected 0 (off) or 1 (on)',
    );
  });
});
