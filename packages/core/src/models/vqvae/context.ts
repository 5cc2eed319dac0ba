/**
 * What every VQ-VAE forward pass carries: the attention router (the VAE's spatial self-attention goes
 * through it like every other attention site), the trace it records into, and optional observers.
 */
import type { AttentionRouter } from '../../attention/router.js';
import type { AttentionTrace } from '../../attention/trace.js';
import { throwIfAborted } from '../../errors.js';
import type { Tensor } from '../../tensor.js';

/** Receives each module's output under its PyTorch module name (e.g. "decoder.up.2.attn.0"). */
export type ModuleHook = (name: string, output: Tensor) => void;

export interface VQVAERunOptions {
  router: AttentionRouter;
  trace: AttentionTrace;
  /** Observes intermediate outputs; the tensors passed are never modified afterwards. */
  onModule?: ModuleHook;
  /** Receives the decoder's unclamped output (VAR's img before clamp). Unlike onModule it lets whole stretches run fused. */
  onRawImage?: (image: Tensor) => void;
  signal?: AbortSignal;
}

/** Reports a module's output and checks for cancellation between modules. */
export function emit(run: VQVAERunOptions, name: string, output: Tensor): Tensor {
  run.onModule?.(name, output);
  throwIfAborted(run.signal);
  return output;
}
