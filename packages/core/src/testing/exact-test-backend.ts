/**
 * An exact attention backend for core's own model tests. Core must not import a backend package, so
 * the VAR/VQ-VAE parity tests route their attention through this descriptor instead: it wraps the
 * float64 `referenceAttention` (the conformance suite's ground truth) and keeps every appended scale's
 * K/V for the incremental next-scale path, exactly like an exact backend's KV cache.
 */
import {
  ATTENTION_API_VERSION,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type AttentionStateOptions,
} from '../attention/contract.js';
import { referenceAttentionTensor } from '../attention/reference.js';
import { createRegistry, type Registry } from '../plugs/registry.js';
import { validateAttend, validateStateInput, validateStateOptions } from '../attention/validate.js';
import { InputError } from '../errors.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { concatTokens } from './conformance.js';

export const EXACT_TEST_BACKEND_ID = 'exact-test';

/** Keeps K/V as (B·H, L, d) per appended scale and concatenates them when a scale's queries attend. */
class ReferenceKVState implements AttentionState {
  private keys: Tensor[] = [];
  private values: Tensor[] = [];
  length = 0;

  constructor(private readonly o: AttentionStateOptions) {}

  async append(k: TensorLike, v: TensorLike): Promise<void> {
    const K = validateStateInput(k, 'k', this.o);
    const V = validateStateInput(v, 'v', this.o);
    if (K.shape.join() !== V.shape.join())
      throw new InputError(`v shape [${V.shape.join(', ')}] must equal k shape [${K.shape.join(', ')}]`);
    this.keys.push(K.clone());
    this.values.push(V.clone());
    this.length += K.shape[2];
  }

  async attend(q: TensorLike) {
    const Q = validateStateInput(q, 'q', this.o);
    if (this.length === 0) throw new InputError('attend() before any append(): the state holds no keys yet');
    // No mask: the cache holds exactly the tokens of the scales seen so far (block-causal by construction).
    return { output: referenceAttentionTensor(Q, concatTokens(this.keys), concatTokens(this.values), this.o.scale) };
  }

  dispose(): void {
    this.keys = [];
    this.values = [];
    this.length = 0;
  }
}

function createReferenceInstance(): AttentionInstance {
  return {
    backendId: EXACT_TEST_BACKEND_ID,
    async attend(q, k, v, spec) {
      const x = validateAttend(q, k, v, spec);
      return { output: referenceAttentionTensor(x.q, x.k, x.v, spec.scale, x.mask) };
    },
    createState(options) {
      validateStateOptions(options);
      return new ReferenceKVState(options);
    },
    async dispose() {},
  };
}

export const exactTestBackend: AttentionBackend = {
  kind: 'attention',
  id: EXACT_TEST_BACKEND_ID,
  package: '@nextscale/core',
  version: '0.0.0',
  apiVersion: ATTENTION_API_VERSION,
  exact: true,
  priority: 1,
  capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
  async probe() {
    return { available: true, reason: 'float64 reference attention for tests' };
  },
  async create() {
    return createReferenceInstance();
  },
};

/** A fresh registry holding only the exact test backend. */
export function createExactTestRegistry(): Registry {
  const registry = createRegistry();
  registry.register(exactTestBackend);
  return registry;
}
