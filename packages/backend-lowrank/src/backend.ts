/**
 * The `lowrank` backend descriptor and instance: polynomial-method attention (Alman & Song) with a
 * certified error, or exact attention with a stated reason when the error cannot be certified.
 */
import {
  ATTENTION_API_VERSION,
  type AttendSpec,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionStateOptions,
} from '@nextscale/core';
import { validateAttend, validateStateOptions } from '@nextscale/core/attention';
import { attendOnce } from './attend.js';
import {
  checkLogitBound,
  DEFAULT_OPTIONS,
  resolveOptions,
  type LowrankAttendSpec,
  type LowrankOptions,
  type LowrankStateOptions,
} from './options.js';
import { LowrankState } from './state.js';

export const VERSION = '0.1.0';

export function createLowrankAttention(options: LowrankOptions = {}): AttentionInstance {
  const base = resolveOptions(DEFAULT_OPTIONS, options, 'create()');
  return {
    backendId: 'lowrank',
    async attend(q, k, v, spec: AttendSpec | LowrankAttendSpec) {
      const x = validateAttend(q, k, v, spec);
      const o = resolveOptions(base, spec as LowrankAttendSpec, 'attend()');
      checkLogitBound(spec.logitBound, 'attend()');
      return attendOnce(x, spec.scale, spec.logitBound, o);
    },
    createState(options: AttentionStateOptions | LowrankStateOptions) {
      validateStateOptions(options);
      checkLogitBound(options.logitBound, 'createState()');
      return new LowrankState(options, resolveOptions(base, options as LowrankStateOptions, 'createState()'));
    },
    async dispose() {
      // Nothing is held between calls; states own their buffers.
    },
  };
}

export const backend: AttentionBackend<LowrankOptions> = {
  kind: 'attention',
  id: 'lowrank',
  package: '@nextscale/backend-lowrank',
  version: VERSION,
  apiVersion: ATTENTION_API_VERSION,
  exact: false,
  priority: 1,
  capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
  async probe() {
    return {
      available: true,
      reason:
        'pure JavaScript (float64 prefix state); certified polynomial-method attention, exact when ε cannot be certified',
    };
  },
  async create(options) {
    return createLowrankAttention(options);
  },
};
