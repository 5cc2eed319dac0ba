/**
 * The attention contract between core and the backend packages (docs/architecture.md §2).
 *
 * Shapes: q is (B, H, Lq, d); k and v are (B, H, Lk, d); outputs are (B, H, Lq, d), all row-major
 * float32. Every call is async because GPU readback is.
 */
import type { PlugDescriptor } from '../plugs/contract.js';
import type { Tensor, TensorLike } from '../tensor.js';

export type { ProbeResult } from '../plugs/contract.js';

/** Bumped when the contract changes incompatibly; backends declare the version they implement. */
export const ATTENTION_API_VERSION = 1;

export type MaskKind = 'none' | 'block-causal';

/**
 * `block-causal` is VAR's mask: token i of scale s sees every token of scales ≤ s.
 * `scaleEnds` are cumulative token counts per scale, e.g. [1, 5, 14, 30]; it requires Lq = Lk = last end.
 */
export type AttentionMask = { kind: 'none' } | { kind: 'block-causal'; scaleEnds: readonly number[] };

export interface AttendSpec {
  /** Softmax scale τ: weights are softmax(τ·q·kᵀ). */
  scale: number;
  mask?: AttentionMask;
  /** Target absolute error for approximate backends (ignored by exact ones). */
  epsilon?: number;
  /** A guaranteed bound on |τ·q·k| for this call; approximate backends otherwise measure it. */
  logitBound?: number;
}

export interface AttentionStateOptions {
  batch: number;
  heads: number;
  headDim: number;
  scale: number;
  /** A guaranteed bound on |τ·q·k| over the whole generation (static for l2-normalised heads). */
  logitBound?: number;
  epsilon?: number;
  /**
   * The most keys the state will hold (VAR: L, all scales' tokens), so that a cache can reserve them once instead of
   * growing by doubling (which at d36's L = 2240 reserved 4096 rows and left each outgrown buffer behind).
   */
  maxLength?: number;
}

/**
 * An approximate backend's proof of its error for one call (docs/theory.md §4).
 * `errBoundMax` bounds max |output − exact attention| over every output entry.
 */
export interface AttentionCertificate {
  backend: string;
  beta: number;
  betaSource: 'l2-static' | 'row-norm' | 'entry' | 'cap';
  /** Largest absolute entry of Q and K (the paper's R). */
  Rentry?: number;
  regime: 'subcritical' | 'critical';
  family: string;
  degree: number;
  rank: number;
  deltaPoly: number;
  deltaFp: number;
  /** Bound per value channel, aggregated over batch and heads (max). */
  errBoundPerChannel: number[];
  errBoundMax: number;
  estCostLowrank: number;
  estCostExact: number;
  guardTripped: boolean;
  /** What was recomputed exactly after a guard tripped (e.g. "scale 3, 12 rows"), empty if nothing. */
  recomputed: string[];
  [extra: string]: unknown;
}

export interface AttentionResult {
  output: Tensor;
  /** Present only for approximate results; an absent certificate means the output is exact. */
  certificate?: AttentionCertificate;
  /** Why an approximate backend computed this result exactly (no certificate), in words. */
  exactReason?: string;
}

/** Next-scale inference: append each scale's keys/values, then attend that scale's queries. */
export interface AttentionState {
  /** Number of key/value tokens appended so far. */
  readonly length: number;
  append(k: TensorLike, v: TensorLike): Promise<void>;
  attend(q: TensorLike): Promise<AttentionResult>;
  dispose(): void;
}

export interface AttentionInstance {
  readonly backendId: string;
  attend(q: TensorLike, k: TensorLike, v: TensorLike, spec: AttendSpec): Promise<AttentionResult>;
  createState(options: AttentionStateOptions): AttentionState;
  /** Idempotent. */
  dispose(): Promise<void>;
}

export interface BackendCapabilities {
  masks: MaskKind[];
  incrementalState: boolean;
  dtypes: 'float32'[];
  maxHeadDim?: number;
  maxTokens?: number;
}

export interface AttentionBackend<Options = Record<string, unknown>>
  extends PlugDescriptor<Options, AttentionInstance> {
  readonly kind: 'attention';
  /** Exact backends compute softmax attention to float32 rounding; approximate ones certify their error. */
  readonly exact: boolean;
  readonly capabilities: BackendCapabilities;
}
