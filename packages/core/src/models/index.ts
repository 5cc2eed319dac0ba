/**
 * `@nextscale/core/models`: the model code below `loadVAR` — the VAR transformer and its sampling, the VQ-VAE, the
 * pipeline's checks, and random weights in the released shapes (for benchmarks and tests).
 */
export * from './var/index.js';
export * from './vqvae/index.js';
export * from './random-weights.js';
export { checkVAECompatibility } from '../pipeline/compatibility.js';
export { classNamesFromMetadata } from '../pipeline/class-names.js';
