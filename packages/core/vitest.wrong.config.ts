import { defineConfig } from 'vitest/config';

// Only for conformance-catches-wrong.test.ts, which runs the shared suite against broken backends.
export default defineConfig({ test: { include: ['test-support/wrong-backends.suite.ts'], testTimeout: 60_000 } });
