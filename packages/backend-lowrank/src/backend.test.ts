import { describe } from 'vitest';
import { testAttentionBackend } from '@nextscale/core/testing';
import { backend } from './index.js';

describe('default options', () => {
  testAttentionBackend(backend, { tolerance: 2e-5 });
});

describe('low-rank wherever certifiable (exactWhenCheaper: false, gMax 12)', () => {
  testAttentionBackend(backend, { tolerance: 2e-5, createOptions: { exactWhenCheaper: false, gMax: 12, rMax: 20000 } });
});
