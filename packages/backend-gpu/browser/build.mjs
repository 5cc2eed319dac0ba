// Bundles the browser check page script (core + backend-gpu + gpu.js's browser build) with esbuild.
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export async function buildBrowserBundle(outfile = here('../dist-browser/check.js')) {
  await build({
    entryPoints: [here('./entry.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    outfile,
    logLevel: 'warning',
    plugins: [
      {
        name: 'node-builtins-stub',
        setup(b) {
          const builtins = new RegExp(`^(node:.*|(${builtinModules.join('|').replace(/[/.]/g, '\\$&')}))$`);
          b.onResolve({ filter: builtins }, () => ({ path: here('./node-stub.cjs') }));
          b.onResolve({ filter: /^gpu\.js$/ }, () => ({ path: here('../node_modules/gpu.js/dist/gpu-browser.js') }));
        },
      },
    ],
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await buildBrowserBundle());
