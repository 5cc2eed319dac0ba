/**
 * What this JavaScript engine offers the WebAssembly kernels, detected once by validating tiny modules (no code
 * runs): fixed-width SIMD, relaxed SIMD (for the fused multiply-add), shared memory, and whether this thread may
 * block in Atomics.wait (the synchronous worker-pool split needs it).
 */

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
// biome-ignore format: a WebAssembly module, bytes kept in rows
const SIMD_PROBE = Uint8Array.of(
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
);

// (module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))
// biome-ignore format: a WebAssembly module, bytes kept in rows
const RELAXED_PROBE = Uint8Array.of(
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2,
  253, 133, 2, 11,
);

export interface WasmFeatures {
  /** WebAssembly with 128-bit SIMD: the kernels need it. */
  readonly simd: boolean;
  /** Relaxed SIMD (f32x4.relaxed_madd), used for fused multiply-add (Node 20 has it only behind a V8 flag). */
  readonly relaxedSimd: boolean;
  /** SharedArrayBuffer-backed WebAssembly.Memory: Node, or a cross-origin-isolated page or worker. */
  readonly sharedMemory: boolean;
  /** This thread may block in Atomics.wait: Node (main thread included) or a web worker, not a page's main thread. */
  readonly canBlock: boolean;
  /** Node.js, where worker_threads exists. */
  readonly node: boolean;
}

let cached: WasmFeatures | undefined;

export function detectWasmFeatures(): WasmFeatures {
  if (cached) return cached;
  const wasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  const simd = wasm && safeValidate(SIMD_PROBE);
  const relaxedSimd = simd && safeValidate(RELAXED_PROBE);
  const g = globalThis as {
    process?: { versions?: { node?: string } };
    crossOriginIsolated?: boolean;
    document?: unknown;
  };
  const node = typeof g.process?.versions?.node === 'string';
  let sharedMemory = false;
  if (wasm && typeof SharedArrayBuffer === 'function' && (node || g.crossOriginIsolated === true)) {
    try {
      sharedMemory =
        new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
    } catch {
      sharedMemory = false;
    }
  }
  // A page's main thread has a document; Atomics.wait throws there.
  const canBlock = node || typeof g.document === 'undefined';
  cached = { simd, relaxedSimd, sharedMemory, canBlock, node };
  return cached;
}

function safeValidate(bytes: Uint8Array): boolean {
  try {
    return WebAssembly.validate(bytes as BufferSource);
  } catch {
    return false;
  }
}
