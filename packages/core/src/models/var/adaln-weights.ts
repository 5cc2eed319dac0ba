/**
 * Where the AdaLN products get their weights. The AdaLN weight matrices (every block's ada_lin, or shared_ada_lin, and
 * head_nm's) are a third of a VAR block's weights (d16: 392 MiB of 1185; d30: 2.5 GiB of 7.5), yet a generation uses
 * each of them once, on its 2B class-condition rows (adaln.ts), before the first scale. So they need not stay in
 * memory: when loadVAR reads the checkpoint from a file, it leaves them there (the state dict holds their shapes and
 * `adaLNSource`, the checkpoint kept open) and each generation reads them again, one at a time, into one buffer, and
 * hands them to the engine's `linearOnce`, which keeps nothing of them. That costs ~40 ms per generation at d16 from
 * the page cache and takes 392 MiB off every process that generates (NOTES.md, "Session 12").
 *
 * A checkpoint changed on disk after loading is refused at the next generation (WeightsReader.assertUnchanged).
 */
import { linear, linearOnce } from '../../engines/calls.js';
import { Tensor } from '../../tensor.js';
import { assertFiniteWeights } from '../../weights/finite.js';
import type { WeightsReader } from '../../weights/types.js';

/** y = x·Wᵀ + b for one AdaLN weight, named by its state-dict key (read from the file by that name when streamed). */
export type AdaLNLinear = (x: Tensor, weight: Tensor, bias: Tensor, key: string) => Promise<Tensor>;

/** The state-dict keys of the AdaLN weight matrices (their biases are small and stay in memory). */
export function isAdaLNWeightKey(name: string): boolean {
  return /^(blocks\.\d+\.ada_lin\.1|shared_ada_lin\.1|head_nm\.ada_lin\.1)\.weight$/.test(name);
}

/** The AdaLN products on weights held in memory: model weights like any other, which the engine may pin. */
export const heldAdaLN = (): AdaLNLinear => (x, weight, bias) => linear(x, weight, bias);

/**
 * The AdaLN products of one generation on weights read from `source` (opened once per generation: its buffer, sized
 * for the largest weight, is dropped with it, so it is not held through the decode).
 */
export async function streamedAdaLN(source: WeightsReader): Promise<AdaLNLinear> {
  await source.assertUnchanged();
  let buffer = new Float32Array(0);
  return async (x, weight, bias, key) => {
    const n = weight.shape.reduce((a, b) => a * b, 1);
    if (buffer.length < n) buffer = new Float32Array(n);
    const w = buffer.subarray(0, n);
    await source.readInto(key, w);
    return linearOnce(x, new Tensor(weight.shape, w), bias);
  };
}

/**
 * Reads each streamed weight once at load time and refuses non-finite values, as loading checks the weights it holds
 * (weights/finite.ts): the streamed ones are not in the state dict's data.
 */
export async function assertStreamedFinite(source: WeightsReader, keys: readonly string[]): Promise<void> {
  let buffer = new Float32Array(0);
  for (const key of keys) {
    const info = source.info(key)!;
    const n = info.shape.reduce((a, b) => a * b, 1);
    if (buffer.length < n) buffer = new Float32Array(n);
    const w = buffer.subarray(0, n);
    await source.readInto(key, w);
    assertFiniteWeights([[key, { data: w }]], source.path);
  }
}
