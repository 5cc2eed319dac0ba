import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      // the engine's own tests (ops against the TypeScript reference, the shared dense-engine suite, errors)
      { extends: true, test: { name: 'engine-onnx', include: ['src/**/*.test.ts'] } },
      // core's parity tests (the tiny fixture's PyTorch reference tensors, exact tokens under greedy sampling), run
      // as they are with this engine active in their module graph (parity-setup.ts)
      {
        extends: true,
        test: {
          name: 'core-parity-on-onnx',
          root: '../core',
          include: ['src/**/*.parity.test.ts'],
          setupFiles: ['../engine-onnx/src/parity-setup.ts'],
        },
      },
    ],
  },
});
