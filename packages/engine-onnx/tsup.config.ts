import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts', 'src/register.ts'],
    format: ['esm'],
    dts: true,
    clean: false, // the build script empties dist once (the two configs build at the same time)
    target: 'node20',
    external: ['@nextscale/core', 'onnxruntime-node'],
  },
  {
    // the browser entry: onnxruntime-web instead of onnxruntime-node, no node: module
    entry: ['src/browser.ts'],
    format: ['esm'],
    dts: { entry: 'src/browser.ts' },
    target: 'es2022',
    platform: 'browser',
    splitting: false,
    external: ['onnxruntime-web', 'onnxruntime-web/webgpu'],
  },
]);
