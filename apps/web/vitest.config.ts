import { defineConfig } from 'vitest/config';

// The tests drive the built dist in Chromium; one file at a time keeps the two shared cores usable.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false },
});
