/** `@nextscale/core/attention`: the attention internals (router, validation, reference, KV cache, the polynomial method). */
export * from './contract.js';
export * from './registry.js';
export * from './policy.js';
export * from './trace.js';
export * from './router.js';
export * from './validate.js';
export * from './kv-cache.js';
export * from './reference.js';
export * from './polynomial.js';
export * from './norm-policy.js';
export * from '../plugs/index.js';
