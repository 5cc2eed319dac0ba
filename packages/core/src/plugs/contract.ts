/**
 * What every plug is, whatever it computes: an attention backend (attention/contract.ts) or a dense engine
 * (engines/contract.ts). Both kinds share this descriptor shape, this probe result and one registry
 * implementation (plugs/registry.ts); a package's `/register` entry hands its descriptor to `registerPlug`.
 */

/** The two kinds of plug: attention backends (`@nextscale/backend-*`) and dense engines (`@nextscale/engine-*`). */
export type PlugKind = 'attention' | 'engine';

export interface ProbeResult {
  available: boolean;
  /** Why it is (un)available and what it would run on, in words (shown to the user as is). */
  reason: string;
  /** Machine-readable facts behind the reason (e.g. the gpu backend's mode and adapter). */
  details?: Record<string, unknown>;
  /** Priority on this machine when it differs from the descriptor's (e.g. a GPU backend on a software path). */
  priority?: number;
}

export interface PlugDescriptor<Options = Record<string, unknown>, Instance = unknown> {
  readonly kind: PlugKind;
  /** Registry id: 'cpu', 'lowrank', 'wasm', 'onnx', … */
  readonly id: string;
  /** The npm package that provides it (named in errors and install hints). */
  readonly package: string;
  readonly version: string;
  /** The contract version it implements (ATTENTION_API_VERSION or ENGINE_API_VERSION). */
  readonly apiVersion: number;
  /** Higher wins when nothing names a plug of this kind. */
  readonly priority: number;
  probe(): Promise<ProbeResult>;
  create(options?: Options): Promise<Instance>;
}
