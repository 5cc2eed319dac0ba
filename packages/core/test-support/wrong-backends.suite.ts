/**
 * Run by conformance-catches-wrong.test.ts in a child vitest: the shared suite against backends that
 * are wrong in different ways. Every one of them must fail the suite somewhere.
 */
import { ATTENTION_API_VERSION, type AttentionBackend, type AttentionInstance } from '../src/attention/contract.js';
import { referenceAttention } from '../src/attention/reference.js';
import { validateAttend } from '../src/attention/validate.js';
import { Tensor } from '../src/tensor.js';
import { testAttentionBackend } from '../src/testing/conformance.js';

function wrongBackend(
  id: string,
  mutate: (out: Float32Array) => void,
  opts: { ignoreMask?: boolean; skipValidation?: boolean } = {},
): AttentionBackend {
  const instance: AttentionInstance = {
    backendId: id,
    async attend(q, k, v, spec) {
      if (!opts.skipValidation) validateAttend(q, k, v, spec);
      const mask = opts.ignoreMask ? { kind: 'none' as const } : spec.mask;
      const out = Float32Array.from(referenceAttention(q, k, v, spec.scale, mask));
      mutate(out);
      return { output: new Tensor(q.shape, out) };
    },
    createState() {
      throw new Error('no state');
    },
    async dispose() {},
  };
  return {
    kind: 'attention',
    id,
    package: `wrong-${id}`,
    version: '0.0.0',
    apiVersion: ATTENTION_API_VERSION,
    exact: true,
    priority: 0,
    capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
    async probe() {
      return { available: true, reason: 'test double' };
    },
    async create() {
      return instance;
    },
  };
}

testAttentionBackend(
  wrongBackend('off-by-a-bit', (o) => {
    o[0] += 1e-3;
  }),
  { tolerance: 1e-5 },
);
testAttentionBackend(
  wrongBackend('ignores-mask', () => {}, { ignoreMask: true }),
  { tolerance: 1e-5 },
);
testAttentionBackend(
  wrongBackend('accepts-nan', () => {}, { skipValidation: true }),
  { tolerance: 1e-5 },
);
