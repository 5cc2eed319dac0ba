export * from './contract.js';
export * from './registry.js';
export * from './policy.js';
export * from './trace.js';
export * from './router.js';
export * from './validate.js';
export * from './reference.js';
