export * from './tensor.js';
export * from './errors.js';
export * from './random.js';
export * from './attention/index.js';
export * from './ops/index.js';
export * from './weights/index.js';
export * from './models/vqvae/index.js';
export * from './models/var/index.js';
