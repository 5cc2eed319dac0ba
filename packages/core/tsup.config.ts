import { defineConfig } from 'tsup';

export default defineConfig({
  // the index and its named subpaths (package.json "exports")
  entry: [
    'src/index.ts',
    ...['attention', 'engines', 'ops', 'weights', 'models', 'testing'].map((sub) => `src/${sub}/index.ts`),
    'src/testing/var-tiny-fixture.ts',
  ],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  external: ['vitest'],
});
