export * from './conformance.js';
export * from './exact-test-backend.js';
export * from './dense-conformance.js';
export * from './numeric.js';
