import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/register.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  external: ['@nextscale/core', '@nextscale/wasm-runtime'],
});
