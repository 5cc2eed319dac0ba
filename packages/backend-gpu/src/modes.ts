/**
 * Which gpu.js mode to run in, and why. The automatic order prefers real hardware: a hardware WebGPU
 * adapter, then WebGL2 / headless GL on a real device, then WebAssembly. A software adapter (SwiftShader,
 * llvmpipe, lavapipe, a WebGPU fallback adapter) is never chosen unless asked for by name, because it is
 * slower than webasm (measured 2–3×) — gpu.js's own 'async' mode would silently upgrade to it.
 */
import { GPU } from 'gpu.js';
import { ensureNodeWebGPU } from './node-webgpu.js';

export type GpuMode = 'webgpu' | 'webgl2' | 'headlessgl' | 'webasm' | 'cpu';
export const GPU_MODES: readonly GpuMode[] = ['webgpu', 'webgl2', 'headlessgl', 'webasm', 'cpu'];

export interface ModeChoice {
  mode: GpuMode | null;
  reason: string;
  /** The adapter or renderer that would run the kernels, when known. */
  adapter?: string;
  /** Why each better mode was passed over. */
  skipped: { mode: GpuMode; reason: string }[];
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|microsoft basic/i;

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

export interface ModeSupport {
  ok: boolean;
  reason: string;
  adapter?: string;
  /** The adapter or renderer is a software one (slower than webasm). */
  software?: boolean;
}

async function webgpuAdapter(): Promise<ModeSupport> {
  const missing = await ensureNodeWebGPU();
  if (missing) return { ok: false, reason: missing };
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator!
    .gpu!;
  let adapter: GpuAdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (err) {
    return { ok: false, reason: `requestAdapter() failed: ${(err as Error).message}` };
  }
  if (!adapter) return { ok: false, reason: 'requestAdapter() returned no adapter' };
  const info = adapter.info ?? {};
  const name =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  if (adapter.isFallbackAdapter || info.isFallbackAdapter || SOFTWARE.test(name))
    return { ok: false, software: true, adapter: name, reason: `adapter "${name}" is a software fallback` };
  return { ok: true, adapter: name, reason: `hardware WebGPU adapter "${name}"` };
}

function webgl2Renderer(): string | undefined {
  const doc = (globalThis as { document?: { createElement(tag: string): { getContext(kind: string): unknown } } })
    .document;
  if (!doc) return undefined;
  const gl = doc.createElement('canvas').getContext('webgl2') as {
    getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
    getParameter(p: number): string;
    RENDERER: number;
  } | null;
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
}

/** Whether `mode` can run here at all (software or not). */
export async function modeSupported(mode: GpuMode): Promise<ModeSupport> {
  switch (mode) {
    case 'webgpu': {
      const a = await webgpuAdapter();
      return a.adapter ? { ...a, ok: true } : a;
    }
    case 'webgl2': {
      if (!GPU.isWebGL2Supported) return { ok: false, reason: 'no WebGL2 context (not a browser, or disabled)' };
      const renderer = webgl2Renderer();
      return {
        ok: true,
        adapter: renderer,
        software: renderer ? SOFTWARE.test(renderer) : undefined,
        reason: 'WebGL2 context available',
      };
    }
    case 'headlessgl':
      return GPU.isHeadlessGLSupported
        ? { ok: true, reason: 'headless-gl available' }
        : { ok: false, reason: 'headless-gl (the optional native "gl" package) is not built here' };
    case 'webasm':
      return GPU.isWebAssemblySupported
        ? { ok: true, reason: 'WebAssembly available' }
        : { ok: false, reason: 'no WebAssembly' };
    case 'cpu':
      return { ok: true, reason: "gpu.js's plain JavaScript kernels" };
  }
}

/** The mode to use: the requested one (any adapter, even software), or the best hardware one. */
export async function chooseMode(requested?: GpuMode): Promise<ModeChoice> {
  if (requested) {
    if (!GPU_MODES.includes(requested))
      return { mode: null, reason: `unknown gpu.js mode "${requested}" (known: ${GPU_MODES.join(', ')})`, skipped: [] };
    const s = await modeSupported(requested);
    return s.ok
      ? { mode: requested, adapter: s.adapter, reason: `mode "${requested}" requested: ${s.reason}`, skipped: [] }
      : { mode: null, reason: `mode "${requested}" requested but unavailable: ${s.reason}`, skipped: [] };
  }
  const skipped: ModeChoice['skipped'] = [];
  const gpu = await webgpuAdapter();
  if (gpu.ok) return { mode: 'webgpu', adapter: gpu.adapter, reason: gpu.reason, skipped };
  skipped.push({ mode: 'webgpu', reason: gpu.reason });
  if (GPU.isWebGL2Supported) {
    const renderer = webgl2Renderer();
    if (renderer && !SOFTWARE.test(renderer))
      return { mode: 'webgl2', adapter: renderer, reason: `WebGL2 on "${renderer}"`, skipped };
    skipped.push({ mode: 'webgl2', reason: renderer ? `renderer "${renderer}" is software` : 'renderer unknown' });
  } else skipped.push({ mode: 'webgl2', reason: 'no WebGL2 context' });
  if (GPU.isHeadlessGLSupported) return { mode: 'headlessgl', reason: 'headless-gl on a real device', skipped };
  skipped.push({ mode: 'headlessgl', reason: 'headless-gl not built here' });
  if (GPU.isWebAssemblySupported) {
    return {
      mode: 'webasm',
      reason: `no hardware GPU path (${skipped.map((s) => `${s.mode}: ${s.reason}`).join('; ')}); using WebAssembly`,
      skipped,
    };
  }
  return { mode: null, reason: 'no usable gpu.js mode', skipped };
}
