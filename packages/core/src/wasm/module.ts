/**
 * The compiled kernels: picks the binary variant for this engine's features, compiles it once (synchronously where
 * allowed, or ahead of time with `loadWasmKernels()` where it is not: a browser's main thread refuses to compile or
 * instantiate modules over 4 KB synchronously), and instantiates it over a given memory.
 */
import { WASM_BASE64 } from './bytes.generated.js';
import { detectWasmFeatures } from './features.js';

export type WasmVariant = keyof typeof WASM_BASE64;

/** The functions exported by assembly/index.ts (addresses are byte offsets into the memory). */
export interface KernelExports {
  packB(n: number, k: number, b: number, ldb: number, dst: number, j0: number, j1: number): void;
  tile(
    k: number, a: number, lda: number, packed: number, c: number, ldc: number,
    i0: number, i1: number, j0: number, j1: number, kcMax: number, scratch: number,
  ): void;
  tileScratchBytes(mc: number, kcMax: number): number;
  panelFloats(k: number): number;
  dotRows(m: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, j0: number, j1: number): void;
  attendRows(q: number, k: number, v: number, out: number, rows: number, n: number, d8: number, scale: number, scratch: number): void;
  attnScratchBytes(d8: number): number;
  layerNormRows(x: number, out: number, rows: number, cols: number, eps: number): void;
  groupNorm(x: number, out: number, B: number, C: number, HW: number, groups: number, weight: number, bias: number, eps: number): void;
  softmaxRows(x: number, out: number, rows: number, cols: number, scratch: number): void;
  siluN(x: number, out: number, n: number): void;
  geluTanhN(x: number, out: number, n: number): void;
  expN(x: number, out: number, n: number): void;
  expNeg64N(x: number, out: number, n: number): void;
  prefixFold(s: number, phi: number, u: number, n: number, r: number, D: number): void;
  prefixRead(s: number, phi: number, n: number, r: number, D: number, acc: number): void;
  featurizeRows(x: number, n: number, d: number, a: number, w: number, parent: number, coord: number, mult: number, r: number, out: number, xs: number): void;
}

/** The variant for a memory kind, with fused multiply-add when relaxed SIMD is there (and not refused). */
export function pickVariant(shared: boolean, relaxed = detectWasmFeatures().relaxedSimd): WasmVariant {
  if (relaxed && !detectWasmFeatures().relaxedSimd) throw new Error('relaxed SIMD was requested but this engine lacks it');
  if (relaxed) return shared ? 'relaxedShared' : 'relaxed';
  return shared ? 'simdShared' : 'simd';
}

const modules = new Map<WasmVariant, WebAssembly.Module>();

function bytesOf(variant: WasmVariant): Uint8Array {
  const bin = atob(WASM_BASE64[variant]);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The compiled module, compiling it synchronously on first use (Node, workers; not a page's main thread). */
export function kernelModuleSync(variant: WasmVariant): WebAssembly.Module {
  let m = modules.get(variant);
  if (!m) {
    m = new WebAssembly.Module(bytesOf(variant) as BufferSource);
    modules.set(variant, m);
  }
  return m;
}

/** Compiles the variant off the calling thread's critical path; later sync calls find it ready. */
export async function kernelModule(variant: WasmVariant): Promise<WebAssembly.Module> {
  let m = modules.get(variant);
  if (!m) {
    m = await WebAssembly.compile(bytesOf(variant) as BufferSource);
    modules.set(variant, m);
  }
  return m;
}

/** Whether `kernelModuleSync(variant)` will not compile (it already has). */
export function isCompiled(variant: WasmVariant): boolean {
  return modules.has(variant);
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}

/**
 * Compiles the kernel variants this engine will use, asynchronously. Needed once before creating WebAssembly engines
 * on a browser page's main thread; harmless (and cheap) elsewhere.
 */
export async function loadWasmKernels(): Promise<void> {
  const f = detectWasmFeatures();
  if (!f.simd) return;
  await kernelModule(pickVariant(false));
  if (f.sharedMemory) await kernelModule(pickVariant(true));
  // The low-rank prefix kernel always runs the plain variant (no fused multiply-add).
  await kernelModule(pickVariant(false, false));
}
