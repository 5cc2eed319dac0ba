/** VAR's FFN: fc2(GELU_tanh(fc1(x))) (the released models use approximate='tanh'). */
import { feedForward as onEngine } from '../../engines/calls.js';
import type { Tensor } from '../../tensor.js';
import type { VARBlockWeights } from './weights.js';

export function feedForward(x: Tensor, block: VARBlockWeights): Promise<Tensor> {
  return onEngine(x, block.fc1Weight, block.fc1Bias, block.fc2Weight, block.fc2Bias);
}
