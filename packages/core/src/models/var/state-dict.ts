/**
 * What VAR needs from a loaded checkpoint. The weights module's `loadStateDict` result has this
 * shape, and so does a hand-built in-memory dict (tests, conversions), so models never need a file.
 */
import { WeightsError } from '../../errors.js';
import type { TensorLike } from '../../tensor.js';
import type { WeightsReader } from '../../weights/types.js';

export interface StateDictLike {
  tensors: ReadonlyMap<string, TensorLike>;
  /** The safetensors `__metadata__` entries, when the file had any. */
  metadata?: Readonly<Record<string, string>>;
  /** Where it came from; used to name the file in errors. */
  path?: string;
  /**
   * The checkpoint, kept open, that the AdaLN weight matrices are read from at each generation (loadVAR from a path):
   * those entries hold their shapes only. The model closes it when disposed. See adaln-weights.ts.
   */
  adaLNSource?: WeightsReader;
}

export function stateDictLabel(sd: StateDictLike, fallback: string): string {
  return sd.path ?? fallback;
}

export function requireTensor(sd: StateDictLike, key: string, file: string): TensorLike {
  const t = sd.tensors.get(key);
  if (!t) throw new WeightsError(file, `missing tensor "${key}"`);
  return t;
}

/** Lists at most `max` names, then how many more, so a wrong file gives a readable one-line error. */
export function listNames(names: readonly string[], max = 12): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
