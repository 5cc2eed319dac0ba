/**
 * What every nextscale package with WebAssembly kernels shares: feature detection, the kernel memory (heap and
 * control block), loading a package's embedded binaries, the worker pool and the thread count (the caller's `threads` option).
 * It holds no kernel: engine-wasm, backend-cpu and backend-lowrank each compile and ship their own.
 */
export { detectWasmFeatures, type WasmFeatures } from './features.js';
export { WasmHeap, align64, CALL_BASE, CONTROL_BYTES, PAGE } from './heap.js';
export { Slot, MAX_SEGMENTS, MAX_THREADS, THREAD_SLOTS } from './control.js';
export { KernelModules, instantiateKernels, pickVariant, type WasmVariant } from './module.js';
export { WorkerPool } from './pool.js';
export { workerSource, type JobRunner } from './worker-source.js';
export { WasmRuntime, type KernelSet, type RuntimeOptions } from './runtime.js';
export { availableCores, checkThreads, defaultThreads, poolPossible } from './threads.js';
