import { testAttentionBackend } from '@nextscale/core/testing';
import { backend } from './index.js';

testAttentionBackend(backend, { tolerance: 2e-6 });
testAttentionBackend(backend, { tolerance: 2e-6, createOptions: { kernel: 'js' }, label: 'scalar TypeScript kernel' });
testAttentionBackend(backend, {
  tolerance: 2e-6,
  createOptions: { kernel: 'wasm', threads: 2 },
  label: 'wasm, private 2-thread pool',
});
