/**
 * Index-only inspection and format conversion, the two things the CLI's `inspect` and `convert`
 * commands need beyond loading.
 */
import { openWeights } from './load.js';
import { type WriteResult, writeSafetensors } from './safetensors-writer.js';
import type { TensorInfo, WeightsFormat } from './types.js';
import { DTYPE_SIZE } from './dtype.js';

export interface WeightsIndex {
  path: string;
  format: WeightsFormat;
  fileSize: number;
  metadata: Record<string, string>;
  tensors: (TensorInfo & { numel: number; byteLength: number })[];
  /** Sum of all tensors' element counts (buffers included). */
  totalNumel: number;
}

/** Names, dtypes, shapes and metadata of a .safetensors or .pth file, without reading tensor data. */
export async function inspectWeights(path: string): Promise<WeightsIndex> {
  const r = await openWeights(path);
  try {
    const tensors = r.tensors.map((t) => {
      const numel = t.shape.reduce((a, b) => a * b, 1);
      return { name: t.name, dtype: t.dtype, shape: [...t.shape], numel, byteLength: numel * DTYPE_SIZE[t.dtype] };
    });
    return {
      path,
      format: r.format,
      fileSize: r.fileSize,
      metadata: { ...r.metadata },
      tensors,
      totalNumel: tensors.reduce((a, t) => a + t.numel, 0),
    };
  } finally {
    await r.close();
  }
}

/**
 * Copies every tensor of `src` (.pth or .safetensors) into a safetensors file at `dst`, keeping
 * names, order and dtypes bit-exactly. Streams one tensor at a time.
 */
export async function convertToSafetensors(
  src: string,
  dst: string,
  metadata?: Record<string, string>,
): Promise<WriteResult> {
  const r = await openWeights(src);
  try {
    const meta = metadata ?? (Object.keys(r.metadata).length > 0 ? r.metadata : { format: 'pt' });
    return await writeSafetensors(
      dst,
      r.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => r.readBytes(t.name) })),
      meta,
    );
  } finally {
    await r.close();
  }
}
