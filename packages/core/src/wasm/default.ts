/**
 * Installs the WebAssembly engines as core's GEMM and as its elementwise kernels (layerNorm, groupNorm, softmax,
 * geluTanh, silu; single-threaded) when this JavaScript engine has WebAssembly SIMD, unless the environment says
 * otherwise:
 *   NEXTSCALE_ENGINE=js     keep the plain TypeScript engine (the reference)
 *   NEXTSCALE_ENGINE=wasm   WebAssembly on the calling thread only
 *   (unset, or wasm-pool)   WebAssembly, split over worker threads in Node (NEXTSCALE_THREADS=n sizes the pool)
 *   another engine id       nothing here: selectEngine / loadVAR find that engine in the engine registry (or fail)
 * In Node the engine is ready at once; on a browser page the kernels compile asynchronously first (synchronous
 * compilation of modules over 4 KB is refused there) and the plain engine serves until then. A bad setting or a
 * failure to set the engine up never breaks importing core: it warns and keeps the plain engine.
 */
import { engineWasChosen, getGemmEngine, setDenseEngine, type GemmEngine } from '../ops/engine.js';
import { createWasmDenseEngine } from './dense-engine.js';
import { env } from './env.js';
import { detectWasmFeatures } from './features.js';
import type { WasmGemmOptions } from './gemm-engine.js';
import { loadWasmKernels } from './module.js';

/** The engine options the environment asks for, or null for the plain TypeScript engine; throws on a bad value. */
export function defaultEngineOptions(): WasmGemmOptions | null {
  const choice = (env('NEXTSCALE_ENGINE') ?? 'wasm-pool').toLowerCase();
  if (choice === 'js') return null;
  if (choice !== 'wasm' && choice !== 'wasm-pool') return null; // another engine: loadVAR/selectEngine resolve it
  if (!detectWasmFeatures().simd) return null;
  return choice === 'wasm' ? { threads: 1 } : {};
}

let installed = false;

/**
 * Makes the environment's engine current (see the module comment), once. Returns the engine now current; on a
 * browser page that is still the plain engine until the kernels have compiled, when the wasm engine replaces it
 * (unless another engine was set meanwhile).
 */
export function installDefaultGemmEngine(): GemmEngine {
  if (installed) return getGemmEngine();
  installed = true;
  try {
    const options = defaultEngineOptions();
    if (!options) return getGemmEngine();
    const f = detectWasmFeatures();
    if (f.node || f.canBlock) {
      if (!engineWasChosen()) setDenseEngine(createWasmDenseEngine(options));
    } else {
      void loadWasmKernels().then(
        () => {
          if (!engineWasChosen()) setDenseEngine(createWasmDenseEngine({ ...options, threads: 1 }));
        },
        (err: unknown) => warn(err),
      );
    }
  } catch (err) {
    warn(err);
  }
  return getGemmEngine();
}

function warn(err: unknown): void {
  console.warn(`nextscale: keeping the plain TypeScript GEMM engine (${err instanceof Error ? err.message : String(err)})`);
}
