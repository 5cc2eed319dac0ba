import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@nextscale/core';
import { detectWasmFeatures } from '@nextscale/wasm-runtime';
import { WASM_BASE64 } from './bytes.generated.js';
import { createWasmGemmEngine, DOT_MAX_ROWS } from './gemm-engine.js';
import { checkAgainstReference, expectBitwiseEqual } from './gemm-test-support.js';

const SIZES = [1, 2, 3, 5, 17, 63, 130];

describe('wasm gemm engine (one thread)', () => {
  const engine = createWasmGemmEngine({ threads: 1 });
  afterAll(() => engine.dispose());

  it('detects WebAssembly SIMD here (Node 20 has it)', () => {
    expect(detectWasmFeatures().simd).toBe(true);
    expect(engine.name).toMatch(/^wasm-simd/);
  });

  it('computes a hand-checkable 2×2 exactly', () => {
    const c = new Float32Array(4);
    engine.gemmNT(2, 2, 3, Float32Array.of(1, 2, 3, 4, 5, 6), 0, 3, Float32Array.of(1, 0, -1, 2, 1, 0), 0, 3, c, 0, 2);
    expect([...c]).toEqual([-2, 4, -2, 13]);
  });

  it(`matches the TypeScript reference for every m, n, k in {${SIZES.join(', ')}}`, () => {
    const rng = new Rng(11);
    for (const m of SIZES) for (const n of SIZES) for (const k of SIZES) checkAgainstReference(engine, rng, m, n, k);
  });

  it('honours offsets and row strides on both paths, and writes only the C region', () => {
    const rng = new Rng(12);
    checkAgainstReference(engine, rng, 7, 10, 13, { a: 5, b: 3, c: 7, lda: 4, ldb: 1, ldc: 3 });
    checkAgainstReference(engine, rng, DOT_MAX_ROWS, 21, 9, { a: 1, b: 0, c: 2, lda: 2, ldb: 7, ldc: 6 });
    checkAgainstReference(engine, rng, 66, 35, 130, { a: 3, b: 1, c: 2, lda: 5, ldb: 3, ldc: 9 });
  });

  it('splits long K into blocks and wide N into tiles (small blocking to reach every edge)', () => {
    const small = createWasmGemmEngine({ threads: 1, mc: 8, nc: 16, kc: 7 });
    const rng = new Rng(13);
    checkAgainstReference(small, rng, 19, 45, 50);
    checkAgainstReference(small, rng, 9, 17, 7, { a: 1, b: 2, c: 3, lda: 1, ldb: 0, ldc: 2 });
    checkAgainstReference(engine, rng, 5, 6, 1100); // 5 blocks of 256 with the default kc
  });

  it('processes operands too large for one job in chunks of rows of A and B, with bitwise the same result', () => {
    const rng = new Rng(15);
    const chunked = createWasmGemmEngine({ threads: 1, chunkFloats: 300 });
    for (const [m, n, k] of [
      [45, 70, 20],
      [2, 90, 33],
      [30, 9, 301],
    ] as const) {
      const a = rng.normalArray(m * k + 3);
      const b = rng.normalArray(n * k + 5);
      const whole = new Float32Array(m * (n + 2));
      const parts = new Float32Array(m * (n + 2));
      engine.gemmNT(m, n, k, a, 3, k, b, 5, k, whole, 0, n + 2);
      chunked.gemmNT(m, n, k, a, 3, k, b, 5, k, parts, 0, n + 2);
      expectBitwiseEqual(parts, whole, `${m}×${n}×${k} in chunks`);
    }
    checkAgainstReference(chunked, rng, 23, 41, 19, { a: 1, b: 2, c: 3, lda: 2, ldb: 1, ldc: 4 });
  });

  it('with k = 0 writes zeros; with m = 0 or n = 0 writes nothing', () => {
    const c = new Float32Array(6).fill(7);
    engine.gemmNT(2, 2, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 0, c, 1, 3);
    expect([...c]).toEqual([7, 0, 0, 7, 0, 0]);
    const d = new Float32Array(3).fill(7);
    engine.gemmNT(0, 3, 2, new Float32Array(0), 0, 2, new Float32Array(6), 0, 2, d, 0, 3);
    expect([...d]).toEqual([7, 7, 7]);
  });

  it('gives bitwise the same result whatever the tiling (the split never reorders a sum)', () => {
    const rng = new Rng(14);
    const [m, n, k] = [37, 90, 300];
    const a = rng.normalArray(m * k);
    const b = rng.normalArray(n * k);
    const run = (e: ReturnType<typeof createWasmGemmEngine>) => {
      const c = new Float32Array(m * n);
      e.gemmNT(m, n, k, a, 0, k, b, 0, k, c, 0, n);
      return c;
    };
    const ref = run(engine);
    expectBitwiseEqual(run(createWasmGemmEngine({ threads: 1, mc: 4, nc: 8 })), ref, 'mc 4, nc 8');
    expectBitwiseEqual(run(createWasmGemmEngine({ threads: 1, mc: 128, nc: 512 })), ref, 'mc 128, nc 512');
  });
});

describe('relaxed-SIMD (fused multiply-add) variant', () => {
  // Node 20 has relaxed SIMD only behind a V8 flag: run the kernel in a child process that enables it, on raw exports.
  it('compiles and computes C = A·Bᵀ within the float32 bound under --experimental-wasm-relaxed-simd', () => {
    const script = `
      const bytes = Buffer.from(process.argv[1], 'base64');
      const memory = new WebAssembly.Memory({ initial: 4 });
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
      const f = new Float32Array(memory.buffer);
      const m = 9, n = 13, k = 37, A = 65536, B = A + m * k * 4, P = B + n * k * 4, C = P + 16 * k * 4, S = C + m * n * 4;
      let s = 1;
      const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
      for (let i = 0; i < m * k; i++) f[A / 4 + i] = rnd();
      for (let i = 0; i < n * k; i++) f[B / 4 + i] = rnd();
      ex.packB(n, k, B, k, P, 0, n);
      ex.tile(k, A, k, P, C, n, 0, m, 0, n, 16, S);
      let worst = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let want = 0, mag = 0;
        for (let p = 0; p < k; p++) { const v = f[A / 4 + i * k + p] * f[B / 4 + j * k + p]; want += v; mag += Math.abs(v); }
        worst = Math.max(worst, Math.abs(f[C / 4 + i * n + j] - want) / ((k + 4) * 2 ** -24 * mag));
      }
      console.log(JSON.stringify({ worst }));`;
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', script, WASM_BASE64.relaxed], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const { worst } = JSON.parse(r.stdout) as { worst: number };
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('is refused without the feature rather than silently swapped', () => {
    if (detectWasmFeatures().relaxedSimd) return;
    expect(() => createWasmGemmEngine({ threads: 1, relaxed: true })).toThrow(/relaxed SIMD/);
  });
});

describe('wasm gemm engine (worker pool)', () => {
  it('gives bitwise the same results on 1 and 2 threads, and the worker really takes tasks', async () => {
    const one = createWasmGemmEngine({ threads: 1 });
    const two = createWasmGemmEngine({ threads: 2, parallelThreshold: 0 });
    try {
      await two.ready();
      const rng = new Rng(21);
      for (const [m, n, k] of [
        [200, 300, 257],
        [2, 700, 129],
        [130, 63, 17],
        [64, 1030, 64],
        [1, 5, 3],
      ] as const) {
        for (let rep = 0; rep < 3; rep++) {
          const a = rng.normalArray(m * k);
          const b = rng.normalArray(n * k);
          const c1 = new Float32Array(m * n);
          const c2 = new Float32Array(m * n).fill(NaN);
          one.gemmNT(m, n, k, a, 0, k, b, 0, k, c1, 0, n);
          two.gemmNT(m, n, k, a, 0, k, b, 0, k, c2, 0, n);
          expectBitwiseEqual(c2, c1, `${m}×${n}×${k}`);
        }
      }
      // the pool path is also checked against the reference with strides
      checkAgainstReference(two, rng, 150, 77, 90, { a: 2, b: 1, c: 3, lda: 3, ldb: 2, ldc: 5 });
      const s = two.stats();
      expect(s.parallelCalls).toBeGreaterThan(0);
      expect(s.tasksPerThread[1], `tasks per thread ${s.tasksPerThread.join('/')}`).toBeGreaterThan(0);
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  it('refuses to be used after dispose()', async () => {
    const e = createWasmGemmEngine({ threads: 2 });
    await e.dispose();
    expect(() =>
      e.gemmNT(1, 1, 1, Float32Array.of(1), 0, 1, Float32Array.of(1), 0, 1, new Float32Array(1), 0, 1),
    ).toThrow(/disposed/);
  });
});
