import { testAttentionBackend } from './conformance.js';
import { exactTestBackend } from './exact-test-backend.js';

// The backend core's model tests route attention through must itself pass the shared suite.
testAttentionBackend(exactTestBackend, { tolerance: 1e-6 });
