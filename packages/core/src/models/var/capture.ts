/**
 * Optional capture of intermediate tensors by name, so tests can compare them with the reference
 * groups (`tf.block0.q`, `ar.cfg1p5.fhat.s2`, ...). Names follow refs.json without the group prefix.
 * Captured tensors are copies: the model keeps mutating its own buffers in place.
 */
import type { Tensor } from '../../tensor.js';
import type { EmitFn } from './block.js';

export type CaptureFn = (name: string, value: Tensor) => void;

/** An emitter that prefixes and suffixes names (e.g. "block3." and ".s2"); undefined when not capturing. */
export function scopedEmitter(capture: CaptureFn | undefined, prefix = '', suffix = ''): EmitFn | undefined {
  return capture && ((name, value) => capture(`${prefix}${name}${suffix}`, value.clone()));
}
