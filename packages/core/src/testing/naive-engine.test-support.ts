/**
 * A dense engine written independently of core's kernels, for tests: every fast path as the plainest loops, sums
 * in float32 (Math.fround) in natural order. It is a correct engine, so the conformance suite must pass it; the
 * wrong engines in wrong-engines.suite.ts are this one with one bug each.
 */
import type { Conv2dArgs, DenseEngine } from '../engines/contract.js';

export function naiveGemmNT(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s = Math.fround(s + Math.fround(a[aOff + i * lda + p] * b[bOff + j * ldb + p]));
      c[cOff + i * ldc + j] = s;
    }
  }
}

export function naiveConv2d(a: Conv2dArgs): void {
  const { x, weight, bias, y } = a;
  for (let bi = 0; bi < a.batch; bi++) {
    for (let o = 0; o < a.outChannels; o++) {
      for (let i = 0; i < a.outH; i++) {
        for (let j = 0; j < a.outW; j++) {
          let s = bias ? bias[o] : 0;
          for (let c = 0; c < a.inChannels; c++) {
            for (let u = 0; u < a.kernelH; u++) {
              for (let v = 0; v < a.kernelW; v++) {
                const r = i * a.strideH + u - a.padH,
                  q = j * a.strideW + v - a.padW;
                if (r < 0 || r >= a.height || q < 0 || q >= a.width) continue;
                s +=
                  weight[((o * a.inChannels + c) * a.kernelH + u) * a.kernelW + v] *
                  x[((bi * a.inChannels + c) * a.height + r) * a.width + q];
              }
            }
          }
          y[((bi * a.outChannels + o) * a.outH + i) * a.outW + j] = s;
        }
      }
    }
  }
}

function normalize(
  x: Float32Array,
  out: Float32Array,
  o: number,
  n: number,
  eps: number,
  scale = (_i: number) => 1,
  shift = (_i: number) => 0,
): void {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[o + i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[o + i] - mean) ** 2;
  const inv = 1 / Math.sqrt(v / n + eps);
  for (let i = 0; i < n; i++) out[o + i] = (x[o + i] - mean) * inv * scale(i) + shift(i);
}

function naiveLinear(...[x, rows, inF, w, outF, bias, y]: Parameters<NonNullable<DenseEngine['linear']>>): void {
  naiveGemmNT(rows, outF, inF, x, 0, inF, w, 0, inF, y, 0, outF);
  if (bias) for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) y[r * outF + j] += bias[j];
}

export function naiveEngine(overrides: Partial<DenseEngine> = {}): DenseEngine {
  return {
    id: 'naive',
    name: 'naive-loops',
    gemmNT: naiveGemmNT,
    linear: naiveLinear,
    linearOnce: naiveLinear,
    conv2d: naiveConv2d,
    layerNormRows(x, out, rows, cols, eps) {
      for (let r = 0; r < rows; r++) normalize(x, out, r * cols, cols, eps);
    },
    groupNorm(x, out, B, C, HW, groups, weight, bias, eps) {
      const cg = C / groups;
      for (let b = 0; b < B; b++) {
        for (let g = 0; g < groups; g++) {
          const c0 = g * cg;
          normalize(
            x,
            out,
            (b * C + c0) * HW,
            cg * HW,
            eps,
            (i) => weight[c0 + Math.floor(i / HW)],
            (i) => bias[c0 + Math.floor(i / HW)],
          );
        }
      }
    },
    softmaxRows(x, out, rows, cols) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        const max = Math.max(...x.subarray(o, o + cols));
        let sum = 0;
        for (let i = 0; i < cols; i++) sum += Math.exp(x[o + i] - max);
        for (let i = 0; i < cols; i++) out[o + i] = Math.exp(x[o + i] - max) / sum;
      }
    },
    geluTanh(x, out, n) {
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
      }
    },
    silu(x, out, n) {
      for (let i = 0; i < n; i++) out[i] = x[i] / (1 + Math.exp(-x[i]));
    },
    ...overrides,
  };
}
