/**
 * Run by model-parity-catches-wrong.test.ts in a child vitest: the model-parity suite on an engine whose GEMM is
 * off by one part in ten thousand (a float16-like accumulation error), which the reference tensors must expose.
 */
import { testModelParity } from '../src/testing/model-parity.js';
import { naiveEngine, naiveGemmNT } from '../src/testing/naive-engine.test-support.js';

testModelParity({
  name: 'wrong: gemm off by 1e-4 relative',
  engine: async () =>
    naiveEngine({
      id: 'wrong-gemm',
      linear: undefined,
      conv2d: undefined,
      gemmNT(m, n, k, a, ao, lda, b, bo, ldb, c, co, ldc) {
        naiveGemmNT(m, n, k, a, ao, lda, b, bo, ldb, c, co, ldc);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[co + i * ldc + j] *= 1 + 1e-4;
      },
    }),
});
