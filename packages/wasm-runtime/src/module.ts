/**
 * A package's compiled kernels: one WebAssembly binary per feature variant (embedded base64 by build-wasm), picked
 * by feature detection and compiled once (synchronously where allowed, or ahead of time with `load()` where it is
 * not: a browser's main thread refuses to compile or instantiate modules over 4 KB synchronously), then
 * instantiated over a given memory. Each package that owns kernels makes one `KernelModules` of its binaries.
 */
import { detectWasmFeatures } from './features.js';

/** The four variants build-wasm can produce: plain or relaxed SIMD, each over an unshared or a shared memory. */
export type WasmVariant = 'simd' | 'simdShared' | 'relaxed' | 'relaxedShared';

/** The variant for a memory kind, with fused multiply-add when relaxed SIMD is there (and not refused). */
export function pickVariant(shared: boolean, relaxed = detectWasmFeatures().relaxedSimd): WasmVariant {
  if (relaxed && !detectWasmFeatures().relaxedSimd)
    throw new Error('relaxed SIMD was requested but this engine lacks it');
  if (relaxed) return shared ? 'relaxedShared' : 'relaxed';
  return shared ? 'simdShared' : 'simd';
}

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class KernelModules<V extends WasmVariant = WasmVariant> {
  private readonly modules = new Map<V, WebAssembly.Module>();

  /** `base64`: the binaries as build-wasm embeds them (`WASM_BASE64`); `name` appears in errors. */
  constructor(
    readonly name: string,
    private readonly base64: Readonly<Record<V, string>>,
  ) {}

  /** Whether this package ships the variant. */
  has(variant: WasmVariant): variant is V {
    return Object.hasOwn(this.base64, variant);
  }

  private bytesOf(variant: WasmVariant): Uint8Array {
    if (!this.has(variant)) throw new Error(`${this.name}: no ${variant} build of the kernels`);
    return decodeBase64(this.base64[variant]);
  }

  /** The compiled module, compiling it synchronously on first use (Node, workers; not a page's main thread). */
  moduleSync(variant: WasmVariant): WebAssembly.Module {
    let m = this.modules.get(variant as V);
    if (!m) {
      m = new WebAssembly.Module(this.bytesOf(variant) as BufferSource);
      this.modules.set(variant as V, m);
    }
    return m;
  }

  /** Compiles the variant off the calling thread's critical path; later sync calls find it ready. */
  async module(variant: WasmVariant): Promise<WebAssembly.Module> {
    let m = this.modules.get(variant as V);
    if (!m) {
      m = await WebAssembly.compile(this.bytesOf(variant) as BufferSource);
      this.modules.set(variant as V, m);
    }
    return m;
  }

  /** Whether `moduleSync(variant)` will not compile (it already has). */
  isCompiled(variant: WasmVariant): boolean {
    return this.modules.has(variant as V);
  }

  /**
   * Compiles, asynchronously, the variants this JavaScript engine will use among those shipped. Needed once before
   * creating kernels on a browser page's main thread; harmless (and cheap) elsewhere.
   */
  async load(): Promise<void> {
    const f = detectWasmFeatures();
    if (!f.simd) return;
    const wanted = new Set<WasmVariant>([pickVariant(false), pickVariant(false, false)]);
    if (f.sharedMemory) wanted.add(pickVariant(true)).add(pickVariant(true, false));
    for (const v of wanted) if (this.has(v)) await this.module(v);
  }
}

export function instantiateKernels<Ex>(module: WebAssembly.Module, memory: WebAssembly.Memory): Ex {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Ex;
}
