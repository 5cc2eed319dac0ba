import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { ISOLATION_HEADERS, MODEL_FILES, MODEL_DIR, ORT_DIR, ORT_FILES } from './scripts/site.mjs';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * Core imports a few node: modules for files on disk (fs, crypto, zlib); none of them is called on the
 * page. They resolve to one stub whose functions throw a clear error if something ever does call them.
 */
function nodeBuiltinsStub(): Plugin {
  const names = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const stub = here('./src/node-stub.ts');
  return {
    name: 'nextscale-node-builtins-stub',
    enforce: 'pre',
    resolveId: (id) => (names.has(id) ? stub : null),
  };
}

/**
 * Files copied as they are into the app (dist/<dir>/<name>), served in dev too: the shipped Fashion-MNIST model, and
 * onnxruntime-web's .wasm and .mjs (the onnx engines' wasmPaths).
 */
function staticFiles(
  pluginName: string,
  dir: string,
  files: { name: string; source: string }[],
  type: (name: string) => string,
): Plugin {
  const url = (f: string) => `${dir}/${f}`;
  return {
    name: pluginName,
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const file = files.find((f) => req.url?.endsWith(url(f.name)));
        if (!file) return next();
        res.setHeader('content-type', type(file.name));
        res.end(readFileSync(file.source));
      });
    },
    generateBundle() {
      for (const f of files) this.emitFile({ type: 'asset', fileName: url(f.name), source: readFileSync(f.source) });
    },
  };
}
const shippedModel = () =>
  staticFiles('nextscale-shipped-model', MODEL_DIR, MODEL_FILES, () => 'application/octet-stream');
/**
 * onnxruntime-web's .wasm and its threads' glue .mjs in dist/ort/. Vite also emits the hashed copy that onnxruntime-web's own
 * `new URL('….wasm', import.meta.url)` names; it is dropped: wasmPaths is set, so that URL is never fetched (and the
 * offline cache would hold the 28 MB twice).
 */
function ortWasm(): Plugin {
  const copy = staticFiles('nextscale-onnxruntime-web-wasm', ORT_DIR, ORT_FILES, (name) =>
    name.endsWith('.mjs') ? 'text/javascript' : 'application/wasm',
  );
  return {
    ...copy,
    generateBundle(options, bundle, isWrite) {
      for (const name of Object.keys(bundle))
        if (/^assets\/ort-wasm-simd-threaded[^/]*\.wasm$/.test(name)) delete bundle[name];
      (copy.generateBundle as (this: unknown, ...a: unknown[]) => void).call(this, options, bundle, isWrite);
    },
  };
}

/**
 * Offline use: after the build, dist/sw.js is scripts/service-worker.js with the list of every file in
 * dist (the shipped model included) and a version that changes with their contents, so each build gets
 * its own cache and the old one is dropped when the new worker takes over.
 */
function serviceWorker(): Plugin {
  let outDir = '';
  return {
    name: 'nextscale-service-worker',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const files: string[] = [];
      const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else if (p !== path.join(outDir, 'sw.js')) files.push(path.relative(outDir, p).split(path.sep).join('/'));
        }
      };
      walk(outDir);
      files.sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(readFileSync(path.join(outDir, f)));
      const list = ['./', ...files.filter((f) => f !== 'index.html').map((f) => `./${f}`), './index.html'];
      const source = readFileSync(here('./scripts/service-worker.js'), 'utf8')
        .replace("'__VERSION__'", JSON.stringify(hash.digest('hex').slice(0, 16)))
        .replace('__FILES__', JSON.stringify(list));
      writeFileSync(path.join(outDir, 'sw.js'), source);
    },
  };
}

// gpu.js's package entry is its Node build (headless-gl); pages and workers need its browser build.
const gpuBrowser = createRequire(here('../../packages/backend-gpu/package.json')).resolve('gpu.js/dist/gpu-browser.js');

export default defineConfig({
  base: './',
  plugins: [nodeBuiltinsStub(), shippedModel(), ortWasm(), serviceWorker()],
  resolve: { alias: [{ find: /^gpu\.js$/, replacement: gpuBrowser }] },
  worker: { format: 'es', plugins: () => [nodeBuiltinsStub()] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000, assetsInlineLimit: 0 },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
