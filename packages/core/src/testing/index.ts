export * from './conformance.js';
export * from './exact-test-backend.js';
