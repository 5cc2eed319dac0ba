/**
 * Core's model-parity suite (the var-tiny fixture's PyTorch reference tensors, exact tokens under greedy sampling) on
 * this engine; it fails unless the dense work really went through ONNX Runtime (sessions were created).
 */
import { expect } from 'vitest';
import { testModelParity } from '@nextscale/core/testing';
import type { OnnxDenseEngine } from './engine.js';
import { createOnnxEngine } from './node.js';

testModelParity({
  name: 'onnx (onnxruntime-node)',
  engine: () => createOnnxEngine({ threads: 2 }),
  check: (engine) => {
    expect((engine as OnnxDenseEngine).sessions, 'ONNX sessions created by the parity run').toBeGreaterThan(0);
    // runs without a capture (model.edit's) take the fused transformer blocks: they must have matched the reference too
    expect((engine as OnnxDenseEngine).fusedBlocks, 'fused transformer blocks ran in the parity run').toBeGreaterThan(
      0,
    );
  },
});
