/**
 * What this browser offers, checked on the page before the worker starts: WebAssembly SIMD (core's fast
 * engine and the cpu backend's kernel need it) and cross-origin isolation (SharedArrayBuffer). Each missing
 * piece becomes a visible notice that says what to do; the page stays usable.
 */
import type { EnvironmentReport } from './protocol.js';

// (module (func (result v128) (v128.const i32x4 0 0 0 0))), the probe core uses.
// biome-ignore format: a WebAssembly module, bytes kept in rows
const SIMD_PROBE = Uint8Array.of(
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
);

export interface Environment extends EnvironmentReport {
  wasm: boolean;
  workers: boolean;
}

export function detectEnvironment(): Environment {
  const wasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  let simd = false;
  try {
    simd = wasm && WebAssembly.validate(SIMD_PROBE);
  } catch {
    simd = false;
  }
  return {
    wasm,
    simd,
    workers: typeof Worker === 'function',
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  };
}

export interface Notice {
  id: string;
  level: 'warning' | 'error';
  text: string;
}

export function notices(e: Environment): Notice[] {
  const out: Notice[] = [];
  if (!e.workers || !e.wasm) {
    out.push({
      id: 'no-wasm',
      level: 'error',
      text: `This browser lacks ${!e.workers ? 'Web Workers' : 'WebAssembly'}, which generation needs. Open the page in a current Chrome, Edge, Firefox or Safari.`,
    });
  } else if (!e.simd) {
    out.push({
      id: 'no-simd',
      level: 'warning',
      text: 'This browser has no WebAssembly SIMD, so the WebAssembly engine is off and generation runs on the plain TypeScript engine (same model, several times slower). Update the browser (Chrome/Edge 91+, Firefox 89+, Safari 16.4+) for the fast engine.',
    });
  }
  if (!e.crossOriginIsolated) {
    out.push({
      id: 'no-isolation',
      level: 'warning',
      text: 'This page is not cross-origin isolated (its server sent no COOP/COEP headers), so SharedArrayBuffer is off. Generation still works, on one thread. Serve the app with `pnpm web`, or any server that sends Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp.',
    });
  }
  return out;
}
