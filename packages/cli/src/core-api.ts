/**
 * The parts of @nextscale/core the CLI uses beyond the attention API, in one place: weights I/O,
 * config inference, the pipeline and the norm policy (docs/architecture.md §6).
 */
import { type Tensor } from '@nextscale/core';
import { type TensorInfo } from '@nextscale/core/weights';
import { inferVARConfig, inferVQVAEConfig } from '@nextscale/core/models';

export {
  loadVAR,
  type LoadVAROptions,
  normPolicy,
  type GenerateProgress,
  type GenerateResult,
  type VARConfig,
  type VARModel,
} from '@nextscale/core';
export {
  openWeights,
  writeSafetensors,
  type SafetensorsEntry,
  type TensorInfo,
  type WeightsReader,
} from '@nextscale/core/weights';

/**
 * Config inference from the tensor index (shapes) only; `data` supplies the few small tensors whose
 * values matter (VAR's lvl_1L).
 */
export function inferConfig(
  kind: 'var' | 'vqvae',
  tensors: readonly TensorInfo[],
  file: string,
  o: {
    metadata?: Record<string, string>;
    patchNums?: number[];
    numHeads?: number;
    data?: Map<string, Float32Array>;
  } = {},
): Record<string, unknown> {
  const map = new Map<string, Tensor>(
    tensors.map((t) => [
      t.name,
      { shape: t.shape, data: o.data?.get(t.name) ?? new Float32Array(0) } as unknown as Tensor,
    ]),
  );
  if (kind === 'var') {
    return {
      ...inferVARConfig(
        { tensors: map, metadata: o.metadata, path: file },
        { patchNums: o.patchNums, numHeads: o.numHeads },
      ),
    };
  }
  return { ...inferVQVAEConfig(map, file) };
}
