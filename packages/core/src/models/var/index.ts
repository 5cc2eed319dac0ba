export { VARTransformer, type VARRunContext, type Conditioning } from './var-transformer.js';
export {
  inferVARConfig,
  expectedVARShapes,
  checkVARStateDict,
  patchNumsFromMetadata,
  describeVAR,
  type VARConfig,
  type VARConfigOptions,
} from './config.js';
export {
  RELEASED_256_PATCH_NUMS,
  RELEASED_512_PATCH_NUMS,
  RELEASED_PYRAMIDS,
  scaleEnds,
  tokenCount,
  tokenLevels,
  patchNumsFromLevels,
  assertPatchNums,
} from './patch-schedule.js';
export {
  generateNextScale,
  GENERATE_DEFAULTS,
  MAX_SEED,
  type GenerateOptions,
  type GenerateProgress,
  type ScaleEvent,
  type NextScaleVAE,
  type NextScaleResult,
} from './autoregressive.js';
export {
  filterTopK,
  filterTopP,
  filteredProbabilities,
  sampleTopKTopP,
  sampleCategorical,
  gumbelSoftmax,
  smoothTemperature,
  type SamplingOptions,
} from './sampling.js';
export { mixGuidance, progressRatio } from './guidance.js';
export { validateLabels } from './labels.js';
export { clampedScaleMul, type VARWeights, type VARBlockWeights } from './weights.js';
export type { StateDictLike } from './state-dict.js';
export type { CaptureFn } from './capture.js';
export { editNextScale, type EditOptions, type EditProgress, type EditVAE, type EditNextScaleResult } from './edit.js';
export {
  editMask,
  forceMask,
  keepOnGrid,
  resizeBilinear,
  roundHalfEven,
  boxCells,
  type EditBox,
  type EditMode,
} from './edit-mask.js';
export {
  fusedBlock,
  releaseFusedCache,
  FUSABLE_BACKENDS,
  type TransformerBlockEngine,
  type FusedBlockArgs,
  type FusedBlockWeights,
  type FusedBlockShape,
  type FusedBlockFn,
} from './fused-block.js';
export { runBlock, type AttendFn } from './block.js';
