import { defineConfig } from 'vitest/config';

export default defineConfig({
  // the engine's own tests (ops against the TypeScript reference, the shared dense-engine suite, errors) and core's
  // model-parity suite on this engine (src/model-parity.test.ts)
  test: { include: ['src/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
});
