/** VAR's FFN: fc2(GELU_tanh(fc1(x))) (the released models use approximate='tanh'). */
import { geluTanh, linear } from '../../ops/index.js';
import type { Tensor } from '../../tensor.js';
import type { VARBlockWeights } from './weights.js';

export function feedForward(x: Tensor, block: VARBlockWeights): Tensor {
  return linear(geluTanh(linear(x, block.fc1Weight, block.fc1Bias)), block.fc2Weight, block.fc2Bias);
}
