export { VQVAE, type VQVAELoadOptions } from './vqvae.js';
export { MultiScaleQuantizer, Phi } from './quantizer.js';
export {
  inferVQVAEConfig,
  validateVQVAEStateDict,
  vqvaeStateDictShapes,
  describeConfig,
  GROUP_NORM_GROUPS,
  GROUP_NORM_EPS,
  type VQVAEConfig,
} from './config.js';
export { linspace, phiTicks, phiIndex, phiIndexPerScale } from './phi.js';
export type { VQVAERunOptions, ModuleHook } from './context.js';
