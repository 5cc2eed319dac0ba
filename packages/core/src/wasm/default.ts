/**
 * Installs the WebAssembly engine as core's GEMM when this JavaScript engine has WebAssembly SIMD, unless the
 * environment says otherwise:
 *   NEXTSCALE_ENGINE=js     keep the plain TypeScript engine (the reference)
 *   NEXTSCALE_ENGINE=wasm   WebAssembly on the calling thread only
 *   (unset, or wasm-pool)   WebAssembly, split over worker threads in Node (NEXTSCALE_THREADS=n to size the pool)
 * In Node the engine is ready at once; on a browser page the kernels compile asynchronously first (synchronous
 * compilation of modules over 4 KB is refused there) and the plain engine serves until then.
 */
import { getGemmEngine, jsGemmEngine, setGemmEngine, type GemmEngine } from '../ops/engine.js';
import { detectWasmFeatures } from './features.js';
import { createWasmGemmEngine, type WasmGemmOptions } from './gemm-engine.js';
import { loadWasmKernels } from './module.js';

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The engine options the environment asks for, or null for the plain TypeScript engine. */
export function defaultEngineOptions(): WasmGemmOptions | null {
  const choice = (env('NEXTSCALE_ENGINE') ?? 'wasm-pool').toLowerCase();
  if (choice === 'js') return null;
  if (!detectWasmFeatures().simd) return null;
  if (choice === 'wasm') return { threads: 1 };
  if (choice !== 'wasm-pool') throw new Error(`NEXTSCALE_ENGINE=${choice}: expected js, wasm or wasm-pool`);
  const t = env('NEXTSCALE_THREADS');
  if (t === undefined) return {};
  const threads = Number(t);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`NEXTSCALE_THREADS=${t}: expected a positive integer`);
  return { threads };
}

let installed: GemmEngine | null = null;

/**
 * Makes the environment's engine current (see the module comment). Returns the engine now current; on a browser
 * page that is still the plain engine until the kernels have compiled, when the wasm engine replaces it (unless
 * another engine was set meanwhile).
 */
export function installDefaultGemmEngine(): GemmEngine {
  if (installed) return getGemmEngine();
  const options = defaultEngineOptions();
  if (!options) return getGemmEngine();
  const f = detectWasmFeatures();
  if (f.node || f.canBlock) {
    installed = createWasmGemmEngine(options);
    if (getGemmEngine() === jsGemmEngine) setGemmEngine(installed);
  } else {
    void loadWasmKernels().then(() => {
      installed = createWasmGemmEngine({ ...options, threads: 1 });
      if (getGemmEngine() === jsGemmEngine) setGemmEngine(installed);
    });
  }
  return getGemmEngine();
}
