/**
 * Adaptive LayerNorm (docs/var-port.md §4.2): the class condition produces per-sample scale, shift
 * and gate vectors that modulate every block. A modulation tensor is (N, slots·C), one row per sample. The products'
 * weights come from memory or from the checkpoint file (adaln-weights.ts).
 */
import { Tensor } from '../../tensor.js';
import type { AdaLNLinear } from './adaln-weights.js';
import type { VARBlockWeights, VARWeights } from './weights.js';

/** The 6C vector's chunk order, exactly as VAR unbinds it (docs/var-port.md §8, pitfall 6). */
export const BLOCK_SLOTS = { gamma1: 0, gamma2: 1, scale1: 2, scale2: 3, shift1: 4, shift2: 5 } as const;
export const BLOCK_SLOT_COUNT = 6;
/** AdaLNBeforeHead's 2C vector: scale then shift. */
export const HEAD_SLOTS = { scale: 0, shift: 1 } as const;
export const HEAD_SLOT_COUNT = 2;

/** shared_ada_lin(cond) (N, 6C), computed once per forward when AdaLN is shared. */
export function sharedModulation(weights: VARWeights, condSilu: Tensor, lin: AdaLNLinear): Promise<Tensor> {
  return lin(condSilu, weights.sharedAdaLinWeight!, weights.sharedAdaLinBias!, 'shared_ada_lin.1.weight');
}

/** Block i's (N, 6C) modulation: its own ada_lin(SiLU(cond)), or ada_gss + the shared output. */
export async function blockModulation(
  block: VARBlockWeights,
  i: number,
  condSilu: Tensor,
  shared: Tensor | undefined,
  lin: AdaLNLinear,
): Promise<Tensor> {
  if (!block.adaGss) return lin(condSilu, block.adaLinWeight!, block.adaLinBias!, `blocks.${i}.ada_lin.1.weight`);
  const out = new Tensor(shared!.shape, shared!.data.slice());
  const width = block.adaGss.length;
  for (let n = 0; n < out.data.length / width; n++) {
    for (let j = 0; j < width; j++) out.data[n * width + j] = block.adaGss[j] + out.data[n * width + j];
  }
  return out;
}

/** head_nm's (N, 2C) modulation; it always uses the class condition itself, never the shared AdaLN output (docs/var-port.md §8, pitfall 9). */
export function headModulation(weights: VARWeights, condSilu: Tensor, lin: AdaLNLinear): Promise<Tensor> {
  return lin(condSilu, weights.headNmWeight, weights.headNmBias, 'head_nm.ada_lin.1.weight');
}

/**
 * In place: xNorm (N, T, C) ← xNorm·(1 + scale) + shift, with scale and shift the given slots of
 * each sample's modulation row.
 */
export function modulateInPlace(xNorm: Tensor, m: Tensor, scaleSlot: number, shiftSlot: number): void {
  const [N, T, C] = xNorm.shape as [number, number, number];
  const width = m.shape[1];
  const x = xNorm.data;
  for (let n = 0; n < N; n++) {
    const sc = n * width + scaleSlot * C;
    const sh = n * width + shiftSlot * C;
    for (let t = 0; t < T; t++) {
      const row = (n * T + t) * C;
      for (let c = 0; c < C; c++) x[row + c] = x[row + c] * (1 + m.data[sc + c]) + m.data[sh + c];
    }
  }
}

/** In place: x (N, T, C) ← x + y·gamma, the gated residual of a block. */
export function addGatedInPlace(x: Tensor, y: Tensor, m: Tensor, gammaSlot: number): void {
  const [N, T, C] = x.shape as [number, number, number];
  const width = m.shape[1];
  for (let n = 0; n < N; n++) {
    const g = n * width + gammaSlot * C;
    for (let t = 0; t < T; t++) {
      const row = (n * T + t) * C;
      for (let c = 0; c < C; c++) x.data[row + c] = x.data[row + c] + y.data[row + c] * m.data[g + c];
    }
  }
}
