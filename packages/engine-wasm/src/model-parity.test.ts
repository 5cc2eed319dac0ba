/**
 * Core's model-parity suite (the var-tiny fixture's PyTorch reference tensors, exact tokens under greedy sampling) on
 * this engine; it fails unless the GEMMs really ran in WebAssembly.
 */
import { expect } from 'vitest';
import { testModelParity } from '@nextscale/core/testing';
import { engine as descriptor } from './engine.js';
import type { WasmDenseEngine } from './kernels/dense-engine.js';

testModelParity({
  name: 'wasm (WebAssembly SIMD, 2 threads where a pool can run)',
  engine: async () => descriptor.create({ threads: (await descriptor.probe()).reason.includes('worker pool') ? 2 : 1 }),
  check: (engine) =>
    expect((engine as WasmDenseEngine).gemm.stats().calls, 'GEMM calls run in WebAssembly').toBeGreaterThan(0),
});
