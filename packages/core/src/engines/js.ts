/** Core's own engine: the TypeScript reference kernels (always available, priority 0). */
import { jsGemmEngine } from '../ops/gemm.js';
import { ENGINE_API_VERSION, type DenseEngine, type DenseEngineDescriptor } from './contract.js';

/** The reference as a DenseEngine: only gemmNT, so every op runs its own TypeScript loops. */
export const jsDenseEngine: DenseEngine = Object.freeze({
  id: 'js',
  name: jsGemmEngine.name,
  gemmNT: jsGemmEngine.gemmNT,
});

export const jsEngine: DenseEngineDescriptor = Object.freeze({
  kind: 'engine',
  id: 'js',
  package: '@nextscale/core',
  version: '0.1.0',
  apiVersion: ENGINE_API_VERSION,
  priority: 0,
  probe: async () => ({ available: true, reason: 'TypeScript reference kernels' }),
  create: async () => jsDenseEngine,
});
