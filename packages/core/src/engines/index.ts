/** Dense engines: the contract, the registry (with core's 'js' reference), selection, the active engine and the calls the model awaits on it. */
export * from './contract.js';
export { jsEngine, jsDenseEngine } from './js.js';
export {
  createEngineRegistry,
  getDefaultEngineRegistry,
  registerEngine,
  packageForEngine,
  type EngineRegistry,
  type AvailableEngine,
} from './registry.js';
export { selectEngine, normalizeEngineId, type SelectEngineOptions, type SelectedEngine } from './select.js';
export { setDenseEngine, getDenseEngine, activeEngineInfo, withDenseEngine, withReferenceEngine } from './active.js';
export type { Conv2dArgs as DenseConv2dArgs } from './dense-contract.js';
