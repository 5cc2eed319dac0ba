/** `@nextscale/core/engines`: the dense-engine contract, core's 'js' reference engine, selection, and the active engine. */
export * from './contract.js';
export { jsEngine, jsDenseEngine } from './js.js';
export { selectEngine, normalizeEngineId, type SelectEngineOptions, type SelectedEngine } from './select.js';
export { setDenseEngine, getDenseEngine, activeEngineInfo, withDenseEngine, withReferenceEngine, type Conv2dArgs as DenseConv2dArgs } from '../ops/engine.js';
export * from '../plugs/index.js';
export { readSettings, parseThreads, MAX_THREADS, type Settings } from '../settings.js';
