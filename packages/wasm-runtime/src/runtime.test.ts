import { describe, expect, it } from 'vitest';
import { detectWasmFeatures } from './features.js';
import { KernelModules } from './module.js';
import { WasmRuntime } from './runtime.js';

// (module (import "env" "memory" (memory 1)) (func (export "seven") (result i32) (i32.const 7)))
// biome-ignore format: a WebAssembly module, bytes kept in rows
const TINY = Uint8Array.of(
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 2, 15, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 0, 1,
  3, 2, 1, 0, 7, 9, 1, 5, 115, 101, 118, 101, 110, 0, 0, 10, 6, 1, 4, 0, 65, 7, 11,
);
const b64 = btoa(String.fromCharCode(...TINY));

describe('KernelModules and WasmRuntime', () => {
  const simd = detectWasmFeatures().simd;

  it('instantiates a shipped variant over the runtime memory and names a missing one', () => {
    const modules = new KernelModules('test-kernels', { simd: b64 });
    expect(modules.has('simd')).toBe(true);
    expect(modules.has('relaxed')).toBe(false);
    expect(() => modules.moduleSync('simdShared')).toThrow('test-kernels: no simdShared build of the kernels');
    if (!simd) return;
    const rt = new WasmRuntime<{ seven(): number }>({ modules }, {});
    expect(rt.threads).toBe(1); // no job runner: one thread
    expect(rt.relaxed).toBe(false); // no relaxed build shipped
    expect(rt.ex.seven()).toBe(7);
    expect(modules.isCompiled('simd')).toBe(true);
  });

  it('refuses a thread pool for kernels without a job runner', () => {
    if (!simd) return;
    const modules = new KernelModules('test-kernels', { simd: b64, simdShared: b64 });
    expect(() => new WasmRuntime({ modules }, { threads: 2 })).toThrow(
      'test-kernels: these kernels run on one thread only',
    );
  });
});
