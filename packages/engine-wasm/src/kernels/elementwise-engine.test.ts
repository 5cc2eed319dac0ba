import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '@nextscale/core';
import { geluTanh, groupNorm, layerNorm, silu, softmax } from '@nextscale/core/ops';
import { expectClose, randTensor } from '@nextscale/core/testing';
import { createWasmElementwiseEngine } from './elementwise-engine.js';
import { wasmGemmAvailable } from './gemm-engine.js';

const d = wasmGemmAvailable() ? describe : describe.skip;

type Kernels = ReturnType<typeof createWasmElementwiseEngine>;

/** Runs `f` with the TypeScript loops (no kernel), then with `engine`'s kernels handed to core's ops, and returns both results. */
function both<T>(engine: Kernels, f: (e: Kernels | undefined) => T): { ts: T; wasm: T } {
  return { ts: f(undefined), wasm: f(engine) };
}

/** Elementwise: NaN exactly where the reference has NaN, else within atol + rtol·|ref|. */
function expectLike(
  actual: Float32Array,
  ref: Float32Array,
  tol: { atol?: number; rtol?: number },
  label: string,
): void {
  expect(actual.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++)
    expect(Number.isNaN(actual[i]), `${label} NaN at ${i}`).toBe(Number.isNaN(ref[i]));
  const keep = (a: Float32Array) => a.filter((_, i) => !Number.isNaN(ref[i]));
  expectClose(keep(actual), keep(ref), tol, label);
}

d('WebAssembly elementwise engine vs the TypeScript reference', () => {
  // a tiny chunk so that the chunked paths (several rows / items per job, a row per job) are exercised too
  const engines = [createWasmElementwiseEngine(), createWasmElementwiseEngine({ chunkFloats: 37 })];

  it('layerNorm: ragged shapes, one row, a large offset, NaN rows', () => {
    const rng = new Rng(1);
    for (const e of engines) {
      for (const shape of [
        [1, 1],
        [1, 3],
        [3, 7],
        [2, 5, 33],
        [4, 1024],
        [7, 130],
        [1, 4097],
      ]) {
        const x = randTensor(rng, shape, 3);
        const { ts, wasm } = both(e, (k) => layerNorm(x, 1e-6, k?.layerNormRows));
        expectClose(wasm.data, ts.data, { atol: 1e-6, rtol: 1e-6 }, `[${shape}]`);
      }
      const off = new Tensor(
        [3, 1023],
        Float32Array.from(rng.normalArray(3 * 1023, 0.01), (v) => 1000 + v),
      );
      const r = both(e, (k) => layerNorm(off, 1e-6, k?.layerNormRows));
      expectClose(r.wasm.data, r.ts.data, { atol: 2e-5 }, 'offset');
      const bad = randTensor(rng, [3, 9]);
      bad.data[10] = NaN;
      bad.data[20] = Infinity;
      const zero = new Tensor([2, 5], Float32Array.of(5, 5, 5, 5, 5, 1, 2, 3, 4, 5));
      for (const t of [bad, zero]) {
        const q = both(e, (k) => layerNorm(t, 0, k?.layerNormRows));
        expectLike(q.wasm.data, q.ts.data, { atol: 1e-6, rtol: 1e-6 }, 'degenerate');
      }
    }
  });

  it('groupNorm: several groupings, batches, odd H·W, a large offset', () => {
    const rng = new Rng(2);
    for (const e of engines) {
      for (const [shape, G] of [
        [[2, 6, 5, 3], 3],
        [[1, 8, 7, 7], 8],
        [[3, 4, 2, 9], 1],
        [[1, 64, 4, 4], 32],
        [[2, 3, 1, 1], 3],
      ] as const) {
        const x = randTensor(rng, shape, 2);
        for (let i = 0; i < x.data.length; i++) x.data[i] += 5;
        const w = randTensor(rng, [shape[1]]);
        const b = randTensor(rng, [shape[1]]);
        const { ts, wasm } = both(e, (k) => groupNorm(x, G, w, b, 1e-6, k?.groupNorm));
        expectClose(wasm.data, ts.data, { atol: 2e-6, rtol: 1e-6 }, `[${shape}] G=${G}`);
      }
      const x = new Tensor(
        [1, 4, 32, 32],
        Float32Array.from(rng.normalArray(4 * 1024, 0.01), (v) => 1000 + v),
      );
      const w = new Tensor([4], Float32Array.of(1, 1, 1, 1));
      const r = both(e, (k) => groupNorm(x, 2, w, new Tensor([4]), 1e-6, k?.groupNorm));
      expectClose(r.wasm.data, r.ts.data, { atol: 2e-5 }, 'offset');
    }
  });

  it('softmax: ragged rows, huge logits, −Infinity masks (exact 0), NaN / +Infinity / all −Infinity rows', () => {
    const rng = new Rng(3);
    for (const e of engines) {
      for (const shape of [
        [1, 1],
        [1, 2],
        [3, 5],
        [4, 7, 33],
        [2, 680],
        [1, 1027],
      ]) {
        const x = randTensor(rng, shape, 4);
        const cols = shape[shape.length - 1];
        for (let i = 0; i < x.data.length; i++) if (rng.uniform() < 0.3 && i % cols !== 0) x.data[i] = -Infinity;
        const { ts, wasm } = both(e, (k) => softmax(x, k?.softmaxRows));
        expectClose(wasm.data, ts.data, { atol: 1e-8, rtol: 2e-7 }, `[${shape}]`);
        for (let i = 0; i < x.data.length; i++) if (x.data[i] === -Infinity) expect(wasm.data[i]).toBe(0);
      }
      const big = new Tensor(
        [2, 6],
        Float32Array.of(1000, 1001, 999, -1000, 3e38, 2.9e38, -1000, -1001, -3e38, -1e30, -50, -120),
      );
      const r = both(e, (k) => softmax(big, k?.softmaxRows));
      expectClose(r.wasm.data, r.ts.data, { atol: 1e-8, rtol: 2e-7 }, 'large');
      const bad = new Tensor(
        [4, 5],
        Float32Array.of(
          -Infinity,
          -Infinity,
          -Infinity,
          -Infinity,
          -Infinity,
          1,
          NaN,
          2,
          3,
          4,
          1,
          Infinity,
          2,
          -Infinity,
          4,
          0,
          0,
          0,
          0,
          -Infinity,
        ),
      );
      const q = both(e, (k) => softmax(bad, k?.softmaxRows));
      expectLike(q.wasm.data, q.ts.data, { atol: 1e-8, rtol: 2e-7 }, 'degenerate');
      expect([...q.wasm.data.subarray(15)]).toEqual([0.25, 0.25, 0.25, 0.25, 0]);
    }
  });

  it('silu and geluTanh: random ragged sizes, extremes, NaN', () => {
    const rng = new Rng(4);
    for (const e of engines) {
      for (const n of [1, 3, 4, 5, 63, 1001]) {
        const x = randTensor(rng, [n], 4);
        for (const [f, name] of [
          [silu, 'silu'],
          [geluTanh, 'gelu'],
        ] as const) {
          const { ts, wasm } = both(e, (k) => f(x, k?.[name === 'gelu' ? 'geluTanh' : 'silu']));
          expectClose(wasm.data, ts.data, { atol: 1e-7, rtol: 1e-6 }, `${name} n=${n}`);
        }
      }
      const ext = new Tensor([9], Float32Array.of(0, 1, -1, 200, -200, 10, -10, 3e38, NaN));
      for (const [f, name] of [
        [silu, 'silu'],
        [geluTanh, 'gelu'],
      ] as const) {
        const { ts, wasm } = both(e, (k) => f(ext, k?.[name === 'gelu' ? 'geluTanh' : 'silu']));
        expectLike(wasm.data, ts.data, { atol: 1e-7, rtol: 1e-6 }, `${name} extremes`);
      }
    }
  });

  it('exp kernels are accurate on a dense grid (float32 ~1 ulp; float64 kernel to float32 rounding)', () => {
    const e = engines[0];
    const relErr = (got: Float32Array, x: Float32Array, ref: (v: number) => number) => {
      let worst = 0;
      for (let i = 0; i < x.length; i++) {
        const r = ref(x[i]);
        worst = Math.max(worst, Math.abs(got[i] - r) / r);
      }
      return worst;
    };
    const n = 400_001;
    const x32 = Float32Array.from({ length: n }, (_, i) => -87 + (175 * i) / (n - 1)); // [−87, 88]
    const y = new Float32Array(n);
    e.expF32(x32, y, n);
    const e32 = relErr(y, x32, Math.exp);
    expect(e32).toBeLessThan(1.5e-7); // about 1 ulp (measured 7.8e-8)

    const xn = Float32Array.from({ length: n }, (_, i) => (-87 * i) / (n - 1)); // [−87, 0]
    e.expNeg64(xn, y, n);
    const e64 = relErr(y, xn, Math.exp);
    expect(e64).toBeLessThan(6.2e-8); // only the final float32 rounding (½ ulp)

    // GELU's tanh through exp, and SiLU, against Math.tanh / Math.exp on the grid where the values are not tiny
    const xg = Float32Array.from({ length: n }, (_, i) => -6 + (12 * i) / (n - 1));
    const ref = new Float32Array(n);
    const worsts: string[] = [];
    for (const [f, name] of [
      [geluTanh, 'gelu'],
      [silu, 'silu'],
    ] as const) {
      ref.set(f(new Tensor([n], xg)).data);
      e[name === 'gelu' ? 'geluTanh' : 'silu'](xg, y, n);
      let worst = 0;
      for (let i = 0; i < n; i++)
        if (Math.abs(ref[i]) > 1e-3) worst = Math.max(worst, Math.abs(y[i] - ref[i]) / Math.abs(ref[i]));
      // GELU: the float32 argument of exp (|u| up to ~20 where the value is above 1e-3) costs a few ulp of u, i.e.
      // up to ~1e-6 relative where x ≪ 0 and the value is small; the absolute error stays under 1e-9 there
      expect(worst, name).toBeLessThan(name === 'gelu' ? 2e-6 : 5e-7);
      worsts.push(`${name} ${worst.toExponential(2)}`);
    }
    console.log(
      `max rel err: exp f32 ${e32.toExponential(2)}, exp f64 kernel ${e64.toExponential(2)}, ${worsts.join(', ')}`,
    );
  });
});
