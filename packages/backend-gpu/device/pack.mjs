// Prepares the GPU check for a machine that reaches no registry (the `device` tool's machines): one
// file, <repo>/.device/payload.tar.xz (git-ignored; carry it), holding
//   check.mjs                 check.mjs and everything it imports, bundled by esbuild
//   node                      this Node binary (the device image has no Node)
//   node_modules/webgpu/      Dawn's Node binding, linux-x64 only
//   debs/*.deb                the Vulkan loader and libglvnd (NVIDIA's Vulkan ICD, libGLX_nvidia.so.0, needs
//                             libGLdispatch), for an image without them
// Usage (after `pnpm build`, on linux-x64 with apt): node packages/backend-gpu/device/pack.mjs
// Then run device/run.sh there (see its header).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const require = createRequire(import.meta.url);

/** vitest's own expect, resolved through vitest's install (pnpm keeps its dependencies private). */
function vitestExpectPaths() {
  const fromVitest = createRequire(require.resolve('vitest/package.json', { paths: [join(packageDir, '../core')] }));
  const expectEntry = fromVitest.resolve('@vitest/expect');
  return { '@vitest/expect': expectEntry, chai: createRequire(expectEntry).resolve('chai') };
}

/**
 * Bundles check.mjs, with backend-cpu registered as its exact baseline, into one ES module. `webgpu` stays external: it is resolved at run time from a
 * node_modules beside the bundle (or above it), and is optional. `gl` (headless-gl) is never built here.
 */
export async function buildCheckBundle(outfile) {
  const paths = vitestExpectPaths();
  await build({
    // The exact baseline is registered before the check runs (ES imports run in order); the check itself
    // imports no other backend. backend-cpu resolves from the workspace root (a devDependency there).
    stdin: {
      contents: "import '@nextscale/backend-cpu/register';\nimport './check.mjs';\n",
      resolveDir: here,
      sourcefile: 'payload-entry.mjs',
      loader: 'js',
    },
    // package.json's "sideEffects" lists the library's files, not this script: keep both imports of the entry.
    ignoreAnnotations: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    external: ['webgpu', 'gl'],
    // gpu.js is CommonJS and requires Node built-ins at run time.
    banner: {
      js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    plugins: [
      {
        name: 'vitest-shim',
        setup(b) {
          b.onResolve({ filter: /^vitest$/ }, () => ({ path: join(here, 'vitest-shim.mjs') }));
          b.onResolve({ filter: /^(@vitest\/expect|chai)$/ }, (a) => ({ path: paths[a.path] }));
        },
      },
    ],
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`the device machine is linux-x64; pack on linux-x64 (this is ${process.platform}-${process.arch})`);
  const repo = join(packageDir, '../..');
  for (const pkg of ['core', 'backend-cpu'])
    if (!existsSync(join(repo, `packages/${pkg}/dist/index.js`))) throw new Error('build first: pnpm build');
  const staging = mkdtempSync(join(os.tmpdir(), 'nextscale-device-'));
  await buildCheckBundle(join(staging, 'check.mjs'));
  cpSync(process.execPath, join(staging, 'node'));
  const dawn = dirname(require.resolve('webgpu/package.json', { paths: [packageDir] }));
  const dawnOut = join(staging, 'node_modules/webgpu');
  mkdirSync(join(dawnOut, 'dist/linux-x64'), { recursive: true });
  for (const f of ['package.json', 'index.js', 'dist/linux-x64/dawn.node']) cpSync(join(dawn, f), join(dawnOut, f));
  mkdirSync(join(staging, 'debs'));
  execFileSync('apt-get', ['download', 'libvulkan1', 'libglvnd0', 'libglx0', 'libegl1'], {
    cwd: join(staging, 'debs'),
    stdio: 'inherit',
  });
  const payload = join(repo, '.device/payload.tar.xz');
  mkdirSync(dirname(payload), { recursive: true });
  // Written beside, then renamed: an interrupted pack leaves no half payload behind.
  execFileSync(
    'tar',
    ['-C', staging, '--use-compress-program=xz -T0 -6', '-cf', `${payload}.partial`, ...readdirSync(staging)],
    { stdio: 'inherit' },
  );
  renameSync(`${payload}.partial`, payload);
  rmSync(staging, { recursive: true });
  console.log(
    `${payload}: ${(statSync(payload).size / 2 ** 20).toFixed(1)} MiB (carry '.device'; everything that travels must stay under 64 MiB)`,
  );
}
