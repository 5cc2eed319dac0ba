export * from './tensor.js';
export * from './errors.js';
export * from './random.js';
export * from './attention/index.js';
export * from './ops/index.js';
export * from './engines/index.js';
export * from './weights/index.js';
export * from './models/vqvae/index.js';
export * from './models/var/index.js';
export * from './models/random-weights.js';
export * from './pipeline/index.js';
export * from './wasm/index.js';

// The WebAssembly SIMD engine becomes the GEMM behind matmul/linear/conv2d where the JavaScript engine supports it
// (NEXTSCALE_ENGINE=js keeps the plain TypeScript engine; see wasm/default.ts).
import { installDefaultGemmEngine } from './wasm/default.js';
installDefaultGemmEngine();
