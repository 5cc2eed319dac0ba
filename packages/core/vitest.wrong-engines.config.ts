import { defineConfig } from 'vitest/config';

// Only for dense-conformance-catches-wrong.test.ts, which runs the dense-engine suite against broken engines.
export default defineConfig({ test: { include: ['test-support/wrong-engines.suite.ts'], testTimeout: 60_000 } });
