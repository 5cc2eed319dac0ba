/** Test doubles for registry and policy tests (not exported from the package). */
import { ATTENTION_API_VERSION, type AttentionBackend } from './contract.js';

/** A descriptor whose instance does nothing; enough for registry and policy logic. */
export function fakeBackend(id: string, over: Partial<Omit<AttentionBackend, 'kind'>> = {}): AttentionBackend {
  return {
    kind: 'attention',
    id,
    package: `@test/${id}`,
    version: '1.0.0',
    apiVersion: ATTENTION_API_VERSION,
    exact: true,
    priority: 1,
    capabilities: { masks: ['none', 'block-causal'], incrementalState: true, dtypes: ['float32'] },
    probe: async () => ({ available: true, reason: 'ok' }),
    create: async () => ({
      backendId: id,
      attend: async () => {
        throw new Error('not used');
      },
      createState: () => {
        throw new Error('not used');
      },
      dispose: async () => {},
    }),
    ...over,
  };
}
