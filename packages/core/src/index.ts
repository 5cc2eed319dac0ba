/**
 * `@nextscale/core`: the user's path — load a model and run it, the tensors it takes and gives, its errors and
 * settings, the attention policies and trace, the two plug contracts and their registries. Everything else is on a
 * named subpath: `/attention` (the attention internals: router, validation, the polynomial method), `/engines`
 * (engine selection details and the active engine), `/ops` (the dense kernels), `/weights` (checkpoint files),
 * `/models` (the VAR and VQ-VAE code, random weights) and `/testing` (the suites every plug runs).
 */
// loading and running a model
export { loadVAR, type LoadVAROptions, type CheckpointInput } from './pipeline/load-var.js';
export {
  checkMemoryFit,
  estimateGeneration,
  estimateMemoryNeed,
  availableMemory,
  gb,
  maxImagesThatFit,
  MemoryError,
  type AvailableMemory,
  type FitCheck,
  type MemoryNeed,
  type ModelShape,
} from './pipeline/memory-fit.js';
export {
  VARModel,
  type VARModelOptions,
  type GenerateResult,
  type EditResult,
  type VAEHandle,
} from './pipeline/var-model.js';
export type { GenerateOptions, GenerateProgress } from './models/var/autoregressive.js';
export type { EditOptions } from './models/var/edit.js';
export type { VARConfig } from './models/var/config.js';
export { editMask, type EditBox, type EditMode } from './models/var/edit-mask.js';

// tensors, randomness, errors, settings
export { Tensor, type TensorLike } from './tensor.js';
export type { ByteSource } from './weights/io.js';
export { Rng } from './random.js';
export {
  NextscaleError,
  WeightsError,
  BackendUnavailableError,
  EngineUnavailableError,
  InputError,
  UsageError,
  AbortedError,
  throwIfAborted,
  type ErrorCode,
} from './errors.js';
export { readSettings, type Settings } from './settings.js';

// attention: the contract, the policies that route it, the trace that records every decision
export {
  ATTENTION_API_VERSION,
  type AttentionBackend,
  type AttentionInstance,
  type AttentionState,
  type AttentionStateOptions,
  type AttendSpec,
  type AttentionMask,
  type MaskKind,
  type AttentionResult,
  type AttentionCertificate,
  type BackendCapabilities,
} from './attention/contract.js';
export {
  explicitPolicy,
  priorityPolicy,
  type AttentionPolicy,
  type AttentionCall,
  type HeadGroupDecision,
} from './attention/policy.js';
export { normPolicy, type NormPolicyOptions } from './attention/norm-policy.js';
export { AttentionTrace, type TraceEntry } from './attention/trace.js';

// dense engines: the contract, selection, the active engine
export {
  ENGINE_API_VERSION,
  type DenseEngine,
  type DenseEngineDescriptor,
  type EngineCreateOptions,
} from './engines/contract.js';
export { selectEngine, type SelectEngineOptions, type SelectedEngine } from './engines/select.js';
export { setDenseEngine } from './engines/active.js';

// plugs: the shape both kinds share and their registries
export type { PlugKind, PlugDescriptor, ProbeResult } from './plugs/contract.js';
export {
  createRegistry,
  createEngineRegistry,
  getDefaultRegistry,
  getDefaultEngineRegistry,
  registerPlug,
  type PlugRegistry,
  type Registry,
  type EngineRegistry,
  type Available,
  type AvailableBackend,
  type AvailableEngine,
} from './plugs/registry.js';
