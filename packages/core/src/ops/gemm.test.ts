import { afterEach, describe, expect, it } from 'vitest';
import { activeEngineInfo, setDenseEngine } from '../engines/active.js';
import type { DenseEngine } from '../engines/contract.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { conv2d } from './conv2d.js';
import { gemmNT, jsGemmEngine } from './gemm.js';
import { linear } from './linear.js';
import { matmul } from './matmul.js';

/** Naive float64 C = A·Bᵀ with the same strided layout; also returns Σ|a·b| per element for the error bound. */
function naiveNT(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
) {
  const c = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        const v = a[aOff + i * lda + p] * b[bOff + j * ldb + p];
        s += v;
        t += Math.abs(v);
      }
      c[i * n + j] = s;
      mag[i * n + j] = t;
    }
  }
  return { c, mag };
}

function checkGemm(rng: Rng, m: number, n: number, k: number, pad = { a: 0, b: 0, c: 0, lda: 0, ldb: 0, ldc: 0 }) {
  const lda = k + pad.lda;
  const ldb = k + pad.ldb;
  const ldc = n + pad.ldc;
  const a = rng.normalArray(pad.a + m * lda);
  const b = rng.normalArray(pad.b + n * ldb);
  const SENTINEL = 12345.5;
  const c = new Float32Array(pad.c + m * ldc).fill(SENTINEL);
  gemmNT(m, n, k, a, pad.a, lda, b, pad.b, ldb, c, pad.c, ldc);
  const { c: ref, mag } = naiveNT(m, n, k, a, pad.a, lda, b, pad.b, ldb);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const got = c[pad.c + i * ldc + j];
      const want = ref[i * n + j];
      // float32 inputs, float32 output and at most a few float32 roundings of partial sums
      const tol = 4 * 2 ** -24 * (mag[i * n + j] + Math.abs(want)) + 1e-30;
      if (!(Math.abs(got - want) <= tol)) {
        expect.fail(`gemm ${m}×${n}×${k}: C[${i},${j}] = ${got}, want ${want} (tol ${tol})`);
      }
    }
  }
  // nothing outside the C region was written
  for (let q = 0; q < c.length; q++) {
    const rel = q - pad.c;
    const inside = rel >= 0 && Math.floor(rel / ldc) < m && rel % ldc < n;
    if (!inside && c[q] !== SENTINEL) expect.fail(`gemm ${m}×${n}×${k} wrote outside C at ${q}`);
  }
}

describe('gemmNT (default engine)', () => {
  it('computes a hand-checkable 2×2', () => {
    // A = [[1,2,3],[4,5,6]], B rows = [[1,0,-1],[2,1,0]] → C = A·Bᵀ = [[-2,4],[-2,13]]
    const c = new Float32Array(4);
    gemmNT(2, 2, 3, Float32Array.of(1, 2, 3, 4, 5, 6), 0, 3, Float32Array.of(1, 0, -1, 2, 1, 0), 0, 3, c, 0, 2);
    expect([...c]).toEqual([-2, 4, -2, 13]);
  });

  it('matches a float64 reference on ragged sizes (every 4×4 / 2×4 / 1×4 / ×1 edge path)', () => {
    const rng = new Rng(1);
    for (const m of [1, 2, 3, 4, 5, 6, 7, 9]) {
      for (const n of [1, 3, 4, 5, 8, 11]) {
        for (const k of [1, 2, 7, 16, 33]) checkGemm(rng, m, n, k);
      }
    }
  });

  it('honours offsets and leading dimensions, and writes only the C region', () => {
    const rng = new Rng(2);
    checkGemm(rng, 7, 10, 13, { a: 5, b: 3, c: 7, lda: 4, ldb: 1, ldc: 3 });
    checkGemm(rng, 2, 5, 9, { a: 1, b: 0, c: 2, lda: 2, ldb: 7, ldc: 6 });
  });

  it('splits long K into blocks and wide N into panels correctly', () => {
    const rng = new Rng(3);
    checkGemm(rng, 5, 6, 1100); // K > 512: three blocks, partial sums accumulated in C
    checkGemm(rng, 6, 450, 600); // two K blocks of 300 and panels of 216 rows of B
    checkGemm(rng, 3, 70, 2049, { a: 3, b: 1, c: 2, lda: 1, ldb: 2, ldc: 5 });
  });

  it('with k = 0 writes zeros; with m = 0 or n = 0 writes nothing', () => {
    const c = new Float32Array(6).fill(7);
    gemmNT(2, 2, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 0, c, 1, 3);
    expect([...c]).toEqual([7, 0, 0, 7, 0, 0]);
    const d = new Float32Array(3).fill(7);
    gemmNT(0, 3, 2, new Float32Array(0), 0, 2, new Float32Array(6), 0, 2, d, 0, 3);
    expect([...d]).toEqual([7, 7, 7]);
  });

  it('rejects operands that do not fit their arrays (before any engine runs)', () => {
    const a = new Float32Array(6);
    const c = new Float32Array(4);
    expect(() => gemmNT(2, 2, 3, a, 0, 3, a, 1, 3, c, 0, 2)).toThrow(/B \(2×3, offset 1/);
    expect(() => gemmNT(2, 2, 3, a, 0, 2, a, 0, 3, c, 0, 2)).toThrow(RangeError); // lda < k
    expect(() => gemmNT(2, 2, 3, a, 0, 3, a, 0, 3, c, 1, 2)).toThrow(/C \(2×2/);
    expect(() => gemmNT(2, 2, 3, a, 0, 3, a, 0, 3, c, 0, 2)).not.toThrow();
  });
});

describe("the active engine's GEMM", () => {
  afterEach(() => setDenseEngine(null));

  it('routes matmul, linear and conv2d through the engine, and null restores the reference', () => {
    const calls: string[] = [];
    const spy: DenseEngine = {
      id: 'spy',
      name: 'spy gemm',
      gemmNT: (m, n, k, ...rest) => {
        calls.push(`${m}x${n}x${k}`);
        jsGemmEngine.gemmNT(m, n, k, ...rest);
      },
    };
    setDenseEngine(spy);
    expect(activeEngineInfo()).toEqual({ id: 'spy', name: 'spy gemm' });
    const rng = new Rng(4);
    const x = new Tensor([3, 4], rng.normalArray(12));
    const w = new Tensor([5, 4], rng.normalArray(20));
    const viaSpy = linear(x, w);
    matmul(x, new Tensor([4, 2], rng.normalArray(8)));
    conv2d(new Tensor([1, 2, 3, 3], rng.normalArray(18)), new Tensor([6, 2, 3, 3], rng.normalArray(108)), null, {
      padding: 1,
    });
    expect(calls).toEqual(['3x5x4', '3x2x4', '6x9x18']);
    setDenseEngine(null);
    expect(activeEngineInfo().id).toBe('js');
    expect([...linear(x, w).data]).toEqual([...viaSpy.data]);
    expect(calls).toHaveLength(3);
  });

  it('an engine without a gemmNT leaves the products to the TypeScript reference', () => {
    const rng = new Rng(5);
    const x = new Tensor([3, 4], rng.normalArray(12));
    const w = new Tensor([5, 4], rng.normalArray(20));
    const ref = linear(x, w);
    setDenseEngine({ id: 'no-gemm', name: 'fast paths only' });
    expect([...linear(x, w).data]).toEqual([...ref.data]);
  });

  it('a replacement engine really computes the results (a broken one is visible)', () => {
    setDenseEngine({
      id: 'zeros',
      name: 'zeros',
      gemmNT: (m, n, _k, _a, _ao, _la, _b, _bo, _lb, c, co, ldc) => {
        for (let i = 0; i < m; i++) c.fill(0, co + i * ldc, co + i * ldc + n);
      },
    });
    const y = linear(
      new Tensor([1, 2], Float32Array.of(1, 1)),
      new Tensor([1, 2], Float32Array.of(1, 1)),
      new Tensor([1], Float32Array.of(0.5)),
    );
    expect([...y.data]).toEqual([0.5]);
  });

  it('rejects something that is not an engine', () => {
    expect(() => setDenseEngine({ id: 'bad', name: 'bad', gemmNT: 3 } as unknown as DenseEngine)).toThrow(TypeError);
    expect(() => setDenseEngine({ name: 'no id' } as unknown as DenseEngine)).toThrow(TypeError);
  });
});
