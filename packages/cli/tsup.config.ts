import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  // @nextscale/bench-utils is private (never published): bundled in, so the CLI has no runtime dependency on it
  external: [/^@nextscale\/(?!bench-utils)/],
  noExternal: ['@nextscale/bench-utils'],
});
