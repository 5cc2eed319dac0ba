export * from './tensor.js';
export * from './errors.js';
export { readSettings, parseThreads, MAX_THREADS, type Settings } from './settings.js';
export * from './random.js';
export * from './attention/index.js';
export * from './ops/index.js';
export * from './engines/index.js';
export * from './plugs/index.js';
export * from './weights/index.js';
export * from './models/vqvae/index.js';
export * from './models/var/index.js';
export * from './models/random-weights.js';
export * from './pipeline/index.js';
// Core carries no engine- or backend-specific kernel: the WebAssembly dense engine is @nextscale/engine-wasm (found
// through the engine registry, see engines/), the exact CPU attention kernel is @nextscale/backend-cpu's.
