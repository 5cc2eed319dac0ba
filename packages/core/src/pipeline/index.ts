export { loadVAR, type LoadVAROptions, type CheckpointInput } from './load-var.js';
export { VARModel, type VARModelOptions, type GenerateResult, type EditResult, type VAEHandle } from './var-model.js';
export { checkVAECompatibility } from './compatibility.js';
export { classNamesFromMetadata } from './class-names.js';
