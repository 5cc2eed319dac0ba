/** VAR's FFN: fc2(GELU_tanh(fc1(x))) (the released models use approximate='tanh'). */
import { fastPath } from '../../ops/engine.js';
import { geluTanh, linear } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import type { VARBlockWeights } from './weights.js';

export function feedForward(x: Tensor, block: VARBlockWeights): Tensor {
  const fast = fastPath('feedForward');
  const [hidden, inF] = block.fc1Weight.shape as [number, number];
  const rows = x.data.length / inF;
  if (!fast || rows === 0 || x.shape[x.shape.length - 1] !== inF) {
    return linear(geluTanh(linear(x, block.fc1Weight, block.fc1Bias)), block.fc2Weight, block.fc2Bias);
  }
  // an engine's fused FFN: one call instead of three, the hidden activations never leave the engine
  const y = new Tensor(x.shape);
  fast(x.data, rows, inF, block.fc1Weight.data, block.fc1Bias.data, hidden, block.fc2Weight.data, block.fc2Bias.data, y.data);
  return y;
}
