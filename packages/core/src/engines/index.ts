/** Dense engines: the contract, the registry (with core's 'js' reference), selection, the active engine and the calls the model awaits on it. */
export * from './contract.js';
export { jsEngine, jsDenseEngine } from './js.js';
export { selectEngine, normalizeEngineId, type SelectEngineOptions, type SelectedEngine } from './select.js';
export { setDenseEngine, getDenseEngine, activeEngineInfo, withDenseEngine, withReferenceEngine } from './active.js';
export type { Conv2dArgs as DenseConv2dArgs } from './dense-contract.js';
export * from '../plugs/index.js';
export { readSettings, parseThreads, MAX_THREADS, type Settings } from '../settings.js';
