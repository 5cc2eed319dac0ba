/**
 * Run by dense-conformance-catches-wrong.test.ts in a child vitest: the dense-engine suite against engines that are
 * wrong in one way each. Every one of them must fail the suite in the tests that target its bug.
 */
import type { DenseEngine } from '../src/engines/contract.js';
import { testDenseEngine } from '../src/testing/dense-conformance.js';
import { naiveConv2d, naiveEngine, naiveGemmNT } from '../src/testing/naive-engine.test-support.js';

const erf = (x: number) => {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7)
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
};

const cachedByShape = new Map<string, Float32Array>();
const pinnedOnce = new WeakMap<Float32Array, Float32Array>();

const wrong: Record<string, Partial<DenseEngine>> = {
  // skips the last term of every dot product
  'drops-last-term': { gemmNT: (m, n, k, ...rest) => naiveGemmNT(m, n, Math.max(0, k - 1), ...rest) },
  // clears whole rows of C, the padding between rows included
  'writes-outside-c': {
    gemmNT: (m, n, k, a, ao, lda, b, bo, ldb, c, co, ldc) => {
      for (let i = 0; i < m; i++) c.fill(0, co + i * ldc, Math.min(c.length, co + (i + 1) * ldc));
      naiveGemmNT(m, n, k, a, ao, lda, b, bo, ldb, c, co, ldc);
    },
  },
  // pins weights keyed by shape instead of by identity: a second weight of the same shape gets the first's result
  'linear-caches-by-shape': {
    linear(x, rows, inF, w, outF, bias, y) {
      const key = `${outF}x${inF}`;
      const pinned = cachedByShape.get(key) ?? cachedByShape.set(key, w.slice()).get(key)!;
      naiveGemmNT(rows, outF, inF, x, 0, inF, pinned, 0, inF, y, 0, outF);
      if (bias) for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) y[r * outF + j] += bias[j];
    },
  },
  // pins linearOnce's weight by identity, as linear may: a buffer refilled with another weight gets the first's result
  'linear-once-pins': {
    linearOnce(x, rows, inF, w, outF, bias, y) {
      const pinned = pinnedOnce.get(w) ?? pinnedOnce.set(w, w.slice()).get(w)!;
      naiveEngine().linear!(x, rows, inF, pinned, outF, bias, y);
    },
  },
  // ignores the bias
  'conv-drops-bias': { conv2d: (args) => naiveConv2d({ ...args, bias: null }) },
  // exact GELU (erf) instead of the tanh approximation VAR uses
  'gelu-erf': {
    geluTanh(x, out, n) {
      for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2));
    },
  },
  // masked logits get a tiny probability instead of exactly 0
  'softmax-leaks-mask': {
    softmaxRows(x, out, rows, cols) {
      naiveEngine().softmaxRows!(
        x.map((v) => (v === -Infinity ? -30 : v)),
        out,
        rows,
        cols,
      );
    },
  },
};

for (const [id, overrides] of Object.entries(wrong))
  testDenseEngine(naiveEngine({ ...overrides, id }), { label: `wrong: ${id}` });
