import { defineConfig } from 'vitest/config';

// Only for model-parity-catches-wrong.test.ts, which runs the model-parity suite on a broken engine.
export default defineConfig({
  test: { include: ['test-support/wrong-model-engine.suite.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
});
