/**
 * WebGPU in Node. Node has no `navigator.gpu`; Dawn's Node binding (the optional peer package `webgpu`)
 * provides one. When that package is installed and nothing else defined `navigator.gpu`, it is exposed
 * there, so gpu.js's WebGPU kernels run on the machine's adapter (Vulkan on Linux, Metal on macOS,
 * D3D12 on Windows). Without the package nothing changes: the mode chooser says what is missing.
 *
 * Two optional environment variables reach Dawn (read by core's settings module):
 *   NEXTSCALE_DAWN_FLAGS            comma-separated toggles for Dawn's create(), e.g. "backend=vulkan"
 *   NEXTSCALE_WEBGPU_FEATURE_LEVEL  "compatibility" for adapters that only offer it (Dawn on OpenGL ES)
 */
import { readSettings } from '@nextscale/core';

interface DawnModule {
  create(flags: string[]): NavigatorGpu;
  globals: Record<string, unknown>;
}

interface NavigatorGpu {
  requestAdapter(options?: Record<string, unknown>): Promise<unknown>;
  getPreferredCanvasFormat(): string;
  readonly wgslLanguageFeatures?: unknown;
}

// In a variable so that bundlers leave the optional package alone.
const DAWN_PACKAGE = 'webgpu';
const MISSING =
  "Node has no WebGPU API: install the optional package 'webgpu' (Dawn's Node binding) to run on a GPU adapter";

let installed: Promise<string | undefined> | undefined;

/**
 * Makes `navigator.gpu` available when it can. Resolves to undefined when it is there (already, or now),
 * else to the reason it is not.
 */
export function ensureNodeWebGPU(): Promise<string | undefined> {
  installed ??= install();
  return installed;
}

async function install(): Promise<string | undefined> {
  const g = globalThis as { navigator?: { gpu?: NavigatorGpu } };
  if (g.navigator?.gpu) return undefined;
  if (typeof process === 'undefined' || !process.versions?.node) return 'no navigator.gpu (WebGPU API absent)';
  let dawn: DawnModule;
  try {
    dawn = (await import(DAWN_PACKAGE)) as DawnModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return MISSING;
    return `the 'webgpu' package is installed but failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
  const { dawnFlags: flags, webgpuFeatureLevel: featureLevel } = readSettings();
  if (!flags.length && !vulkanLoaderFound())
    return 'no Vulkan loader (libvulkan.so.1) for Dawn: install it (Debian/Ubuntu: libvulkan1) with the GPU driver';
  const dawnGpu = dawn.create(flags);
  // gpu.js reads the WebGPU enums (GPUBufferUsage, GPUMapMode, …) as globals, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals))
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  const gpu: NavigatorGpu = featureLevel
    ? {
        requestAdapter: (options) => dawnGpu.requestAdapter({ featureLevel, ...options }),
        getPreferredCanvasFormat: () => dawnGpu.getPreferredCanvasFormat(),
        wgslLanguageFeatures: dawnGpu.wgslLanguageFeatures,
      }
    : dawnGpu;
  // Node 21+ has a navigator (without gpu); Node 20 has none.
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else g.navigator = { gpu };
  return undefined;
}

/**
 * Dawn's default backend on Linux is Vulkan; without the loader it finds no adapter and prints a native
 * warning on stderr, which a CLI must not. Probed with the same dynamic loader Dawn uses: a library that
 * loads but is no Node addon fails with "did not self-register", a missing one with "cannot open".
 */
function vulkanLoaderFound(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, 'libvulkan.so.1');
  } catch (err) {
    return !/cannot open shared object file/.test((err as Error).message);
  }
  return true;
}
