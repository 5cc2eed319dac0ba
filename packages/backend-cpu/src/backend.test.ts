import { testAttentionBackend } from '@nextscale/core/testing';
import { backend } from './index.js';

testAttentionBackend(backend, { tolerance: 2e-6 });
