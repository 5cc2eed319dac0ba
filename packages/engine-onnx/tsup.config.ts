import path from 'node:path';
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
    // the browser entry and its nested worker: onnxruntime-web instead of onnxruntime-node, no node: module
    // (bridge.ts is replaced by bridge-unavailable.ts); ort-worker.js stays a file of its own beside browser.js,
    // which starts it with new Worker(new URL('./ort-worker.js', import.meta.url)) (bundlers such as Vite follow it)
    entry: ['src/browser.ts', 'src/ort-worker.ts'],
    format: ['esm'],
    dts: { entry: 'src/browser.ts' },
    target: 'es2022',
    platform: 'browser',
    splitting: false,
    external: ['onnxruntime-web', 'onnxruntime-web/webgpu'],
    esbuildPlugins: [
      {
        name: 'browser-bridge',
        setup(build) {
          build.onResolve({ filter: /^\.\/bridge\.js$/ }, (args) => ({ path: path.join(args.resolveDir, 'bridge-unavailable.ts') }));
        },
      },
    ],
  },
]);
