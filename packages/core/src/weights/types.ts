import type { DType } from './dtype.js';

export type WeightsFormat = 'safetensors' | 'pth';

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

/**
 * An open weights file of either format. Listing costs nothing beyond the header/pickle; data is
 * read per tensor on demand.
 */
export interface WeightsReader {
  readonly path: string;
  readonly format: WeightsFormat;
  /** safetensors `__metadata__`; `{}` for .pth. */
  readonly metadata: Record<string, string>;
  /** In file order (safetensors header order / state_dict order). */
  readonly tensors: readonly TensorInfo[];
  /** Size of the file in bytes. */
  readonly fileSize: number;
  info(name: string): TensorInfo | undefined;
  /** The tensor converted to float32, row-major. */
  read(name: string): Promise<Float32Array>;
  /** The tensor converted to float32 into `out` (its element count exactly): for a caller that reuses one buffer. */
  readInto(name: string, out: Float32Array): Promise<void>;
  /** Throws a WeightsError when the file changed on disk since it was opened (bytes in memory never do). */
  assertUnchanged(): Promise<void>;
  /** The tensor's raw little-endian bytes in its own dtype, row-major (non-contiguous views are gathered). */
  readBytes(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}
