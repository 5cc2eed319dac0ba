import { ATTENTION_API_VERSION, BackendUnavailableError, type AttentionBackend } from '@nextscale/core';

export const VERSION = '0.1.0';

const NOT_YET = 'the gpu.js kernels are not implemented in this version (tracked in issue 7); use the cpu backend';

/**
 * The gpu.js backend's descriptor. Until its kernels land it probes as unavailable and says why, so
 * policies skip it and explicit requests fail with that reason instead of running something else.
 */
export const backend: AttentionBackend = {
  id: 'gpu',
  package: '@nextscale/backend-gpu',
  version: VERSION,
  apiVersion: ATTENTION_API_VERSION,
  exact: true,
  priority: 20,
  capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
  async probe() {
    return { available: false, reason: NOT_YET };
  },
  async create() {
    throw new BackendUnavailableError(`@nextscale/backend-gpu: ${NOT_YET}`, [{ id: 'gpu', reason: NOT_YET }]);
  },
};
