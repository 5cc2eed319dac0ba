/**
 * The shared dense-engine conformance suite: every engine package calls `testDenseEngine(engine)` from its own
 * tests. It checks gemmNT and each optional fast path the engine provides (awaited: a fast path may be asynchronous),
 * and core's engine calls on it (engines/calls.ts), against core's TypeScript reference on
 * seeded random shapes (odd sizes, m = 1, k = 0, row strides, offsets, stride/padding for conv2d, bias null and
 * non-null), and that an engine writes nothing outside its output and changes none of its inputs.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { withDenseEngine, withReferenceEngine } from '../engines/active.js';
import * as onEngine from '../engines/calls.js';
import type { DenseEngine } from '../engines/contract.js';
import { conv2d, type Conv2dOptions } from '../ops/conv2d.js';
import { eagerFeatureOps, recordFeatureNet, type FeatureBuild } from '../ops/feature-net.js';
import { geluTanh, silu } from '../ops/activation.js';
import { jsGemmEngine } from '../ops/gemm.js';
import { linear } from '../ops/linear.js';
import { groupNorm, layerNorm } from '../ops/norm.js';
import { softmax } from '../ops/softmax.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';

export interface DenseConformanceOptions {
  /**
   * Allowed error relative to the size of the exact result: |got − ref| ≤ tolerance·(scale + 1e-3), where scale is
   * Σ|a·b| for products and |ref| for the row-wise kernels (default 1e-5: float32 sums in any order pass, a
   * missing or misplaced term does not).
   */
  tolerance?: number;
  /** Names this run in test titles when a package runs the suite more than once (e.g. per thread count). */
  label?: string;
  /** Seed of the random shapes' values (default 20261203). */
  seed?: number;
}

export type DenseEngineSource = DenseEngine | (() => DenseEngine | Promise<DenseEngine>);

interface GemmCase {
  m: number;
  n: number;
  k: number;
  /** Extra floats per row beyond the operand's width (lda = k + padA, …) and leading offsets. */
  padA: number;
  padB: number;
  padC: number;
  offA: number;
  offB: number;
  offC: number;
}

const GEMM_CASES: GemmCase[] = [
  { m: 1, n: 1, k: 1, padA: 0, padB: 0, padC: 0, offA: 0, offB: 0, offC: 0 },
  { m: 1, n: 37, k: 19, padA: 0, padB: 0, padC: 0, offA: 0, offB: 0, offC: 0 },
  { m: 3, n: 5, k: 0, padA: 2, padB: 0, padC: 1, offA: 0, offB: 0, offC: 3 },
  { m: 7, n: 13, k: 29, padA: 3, padB: 5, padC: 2, offA: 4, offB: 1, offC: 6 },
  { m: 17, n: 9, k: 65, padA: 0, padB: 0, padC: 0, offA: 0, offB: 0, offC: 0 },
  { m: 33, n: 70, k: 130, padA: 1, padB: 0, padC: 3, offA: 0, offB: 2, offC: 0 },
  { m: 70, n: 33, k: 257, padA: 0, padB: 7, padC: 0, offA: 5, offB: 0, offC: 1 },
  { m: 129, n: 260, k: 40, padA: 0, padB: 0, padC: 0, offA: 0, offB: 0, offC: 0 },
];

export function testDenseEngine(source: DenseEngineSource, options: DenseConformanceOptions = {}): void {
  const tol = options.tolerance ?? 1e-5;
  const seed = options.seed ?? 20261203;
  let engine: DenseEngine;
  const owned = typeof source === 'function';

  describe(`dense engine conformance${options.label ? ` (${options.label})` : ''}`, () => {
    // The engine is made by the first test that runs and disposed by the last (no beforeAll/afterAll: the suite also
    // runs under backend-gpu's plain-Node device shim, which has describe/it only).
    let loading: Promise<DenseEngine> | undefined;
    const test = (name: string, fn: (ctx: TestContext) => unknown) =>
      it(name, async (ctx) => {
        loading ??= Promise.resolve(
          owned ? (source as () => DenseEngine | Promise<DenseEngine>)() : (source as DenseEngine),
        );
        engine = await loading;
        return fn(ctx);
      });

    test('describes itself: a non-empty id and name, a gemmNT and fast paths that are functions when present', () => {
      expect(typeof engine.id === 'string' && engine.id.length > 0, 'id').toBe(true);
      expect(typeof engine.name === 'string' && engine.name.length > 0, 'name').toBe(true);
      for (const k of [
        'gemmNT',
        'linear',
        'linearOnce',
        'conv2d',
        'layerNormRows',
        'groupNorm',
        'softmaxRows',
        'geluTanh',
        'silu',
        'feedForward',
        'featureNet',
      ] as const) {
        if (engine[k] !== undefined) expect(typeof engine[k], k).toBe('function');
      }
    });

    for (const [ci, c] of GEMM_CASES.entries()) {
      test(`gemmNT (when provided) matches the reference: m=${c.m} n=${c.n} k=${c.k}, strides +${c.padA}/+${c.padB}/+${c.padC}, offsets ${c.offA}/${c.offB}/${c.offC}`, (ctx) => {
        if (!engine.gemmNT) return ctx.skip();
        const rng = new Rng(seed + ci);
        const lda = c.k + c.padA,
          ldb = c.k + c.padB,
          ldc = c.n + c.padC;
        const a = randomArray(rng, c.offA + c.m * lda);
        const b = randomArray(rng, c.offB + c.n * ldb);
        const a0 = a.slice(),
          b0 = b.slice();
        // C starts as NaN sentinels: the product must overwrite exactly its m × n region and nothing else
        const got = new Float32Array(c.offC + c.m * ldc + 3).fill(Number.NaN);
        const ref = got.slice();
        jsGemmEngine.gemmNT(c.m, c.n, c.k, a, c.offA, lda, b, c.offB, ldb, ref, c.offC, ldc);
        engine.gemmNT(c.m, c.n, c.k, a, c.offA, lda, b, c.offB, ldb, got, c.offC, ldc);
        expect(sameBits(a, a0) && sameBits(b, b0), 'gemmNT changed an input').toBe(true);
        for (let idx = 0; idx < got.length; idx++) {
          const inC = idx >= c.offC && idx < c.offC + c.m * ldc && (idx - c.offC) % ldc < c.n;
          if (!inC) {
            if (!Number.isNaN(got[idx])) throw new Error(`gemmNT wrote outside C at index ${idx} (${got[idx]})`);
            continue;
          }
          const i = Math.floor((idx - c.offC) / ldc),
            j = (idx - c.offC) % ldc;
          let scale = 0;
          for (let p = 0; p < c.k; p++) scale += Math.abs(a[c.offA + i * lda + p] * b[c.offB + j * ldb + p]);
          checkClose(got[idx], ref[idx], tol * (scale + 1e-3), `C[${i},${j}]`);
        }
      });
    }

    const linearCases = [
      { rows: 1, inF: 1, outF: 1, bias: false },
      { rows: 3, inF: 5, outF: 7, bias: true },
      { rows: 17, inF: 33, outF: 20, bias: false },
      { rows: 40, inF: 64, outF: 96, bias: true },
    ];
    /** Each output against the reference, within tol of the row's |x|·|w| + |b| (what its rounding can reach). */
    const checkLinear = (
      outputs: [string, Float32Array][],
      ref: Float32Array,
      x: Float32Array,
      w: Float32Array,
      bias: Float32Array | null,
      c: (typeof linearCases)[number],
      label: string,
    ) => {
      for (const [what, got] of outputs) {
        for (let r = 0; r < c.rows; r++) {
          for (let j = 0; j < c.outF; j++) {
            let scale = bias ? Math.abs(bias[j]) : 0;
            for (let p = 0; p < c.inF; p++) scale += Math.abs(x[r * c.inF + p] * w[j * c.inF + p]);
            checkClose(got[r * c.outF + j], ref[r * c.outF + j], tol * (scale + 1e-3), `${what} ${label} y[${r},${j}]`);
          }
        }
      }
    };
    test("linear matches the reference (its fast path and core's call on it), bias null and non-null, weights keyed by identity", async () => {
      const rng = new Rng(seed + 100);
      for (const c of linearCases) {
        // Two different weights of one shape, each used twice: an engine caching by shape (not identity) fails.
        const weights = [randomArray(rng, c.outF * c.inF), randomArray(rng, c.outF * c.inF)];
        const bias = c.bias ? randomArray(rng, c.outF) : null;
        for (const w of [weights[0], weights[1], weights[0], weights[1]]) {
          const x = randomArray(rng, c.rows * c.inF);
          const x0 = x.slice(),
            w0 = w.slice();
          const args = [
            new Tensor([c.rows, c.inF], x),
            new Tensor([c.outF, c.inF], w),
            bias ? new Tensor([c.outF], bias) : null,
          ] as const;
          const ref = withReferenceEngine(() => linear(...args)).data;
          const outputs: [string, Float32Array][] = [
            ['linear call', (await withDenseEngine(engine, () => onEngine.linear(...args))).data],
          ];
          if (engine.linear) {
            const got = new Float32Array(c.rows * c.outF).fill(Number.NaN);
            await engine.linear(x, c.rows, c.inF, w, c.outF, bias, got);
            outputs.push(['engine.linear', got]);
          }
          expect(sameBits(x, x0) && sameBits(w, w0), 'linear changed an input').toBe(true);
          checkLinear(outputs, ref, x, w, bias, c, JSON.stringify(c));
        }
      }
    });

    test('linearOnce (when provided) matches the reference with one weight buffer refilled between calls, and keeps nothing of it', async (ctx) => {
      if (!engine.linearOnce) return ctx.skip();
      const rng = new Rng(seed + 150);
      for (const c of linearCases) {
        // One buffer refilled with another weight before every call, as core's AdaLN weights are read: an engine that
        // pins or caches it by identity computes with stale values, and one that releases it leaves it empty.
        const w = new Float32Array(c.outF * c.inF);
        const bias = c.bias ? randomArray(rng, c.outF) : null;
        for (let call = 0; call < 3; call++) {
          w.set(randomArray(rng, w.length));
          const x = randomArray(rng, c.rows * c.inF);
          const x0 = x.slice(),
            w0 = w.slice();
          const args = [
            new Tensor([c.rows, c.inF], x),
            new Tensor([c.outF, c.inF], w),
            bias ? new Tensor([c.outF], bias) : null,
          ] as const;
          const ref = withReferenceEngine(() => linear(...args)).data;
          const got = new Float32Array(c.rows * c.outF).fill(Number.NaN);
          await engine.linearOnce(x, c.rows, c.inF, w, c.outF, bias, got);
          const outputs: [string, Float32Array][] = [
            ['engine.linearOnce', got],
            ['linearOnce call', (await withDenseEngine(engine, () => onEngine.linearOnce(...args))).data],
          ];
          expect(w.length, 'linearOnce released its weight').toBe(c.outF * c.inF);
          expect(sameBits(x, x0) && sameBits(w, w0), 'linearOnce changed an input').toBe(true);
          checkLinear(outputs, ref, x, w, bias, c, `${JSON.stringify(c)} call ${call}`);
        }
      }
    });

    const convCases = [
      { B: 1, Ci: 1, H: 1, W: 1, Co: 1, kh: 1, kw: 1, s: 1, p: 0, bias: false },
      { B: 2, Ci: 3, H: 7, W: 5, Co: 4, kh: 3, kw: 3, s: 1, p: 1, bias: true },
      { B: 1, Ci: 5, H: 9, W: 11, Co: 6, kh: 3, kw: 3, s: 2, p: 1, bias: false },
      { B: 1, Ci: 8, H: 6, W: 6, Co: 3, kh: 1, kw: 1, s: 1, p: 0, bias: true },
      { B: 2, Ci: 2, H: 8, W: 7, Co: 5, kh: 3, kw: 2, s: 2, p: 0, bias: true },
      // Downsample2x's asymmetric padding: core's call pads the input itself before an engine's conv2d sees it
      { B: 2, Ci: 3, H: 8, W: 6, Co: 4, kh: 3, kw: 3, s: 2, p: [0, 1, 0, 1] as const, bias: true },
    ];
    test("conv2d matches the reference (its fast path and core's call on it): strides, padding, kernel sizes, bias null and non-null", async () => {
      const rng = new Rng(seed + 200);
      for (const c of convCases) {
        const x = randomArray(rng, c.B * c.Ci * c.H * c.W);
        const w = randomArray(rng, c.Co * c.Ci * c.kh * c.kw);
        const bias = c.bias ? randomArray(rng, c.Co) : null;
        const x0 = x.slice(),
          w0 = w.slice();
        const opts: Conv2dOptions = { stride: c.s, padding: c.p };
        const args = [
          new Tensor([c.B, c.Ci, c.H, c.W], x),
          new Tensor([c.Co, c.Ci, c.kh, c.kw], w),
          bias ? new Tensor([c.Co], bias) : null,
          opts,
        ] as const;
        const ref = withReferenceEngine(() => conv2d(...args));
        const [, , Ho, Wo] = ref.shape as [number, number, number, number];
        const outputs: [string, Float32Array][] = [
          ['conv2d call', (await withDenseEngine(engine, () => onEngine.conv2d(...args))).data],
        ];
        if (engine.conv2d && typeof c.p === 'number') {
          const got = new Float32Array(ref.data.length).fill(Number.NaN);
          await engine.conv2d({
            x,
            batch: c.B,
            inChannels: c.Ci,
            height: c.H,
            width: c.W,
            weight: w,
            outChannels: c.Co,
            kernelH: c.kh,
            kernelW: c.kw,
            bias,
            strideH: c.s,
            strideW: c.s,
            padH: c.p,
            padW: c.p,
            y: got,
            outH: Ho,
            outW: Wo,
          });
          outputs.push(['engine.conv2d', got]);
        }
        expect(sameBits(x, x0) && sameBits(w, w0), 'conv2d changed an input').toBe(true);
        const scale = c.Ci * c.kh * c.kw + 1; // values are in [−1, 1): Σ|x·w| + |bias| is at most this
        for (const [what, got] of outputs) {
          for (let i = 0; i < got.length; i++)
            checkClose(got[i], ref.data[i], tol * scale, `${what} ${JSON.stringify(c)} y[${i}]`);
        }
      }
    });

    test('layerNormRows (when provided) matches the reference on odd row lengths', async (ctx) => {
      if (!engine.layerNormRows) return ctx.skip();
      const rng = new Rng(seed + 300);
      for (const [rows, cols] of [
        [1, 1],
        [1, 7],
        [5, 33],
        [13, 256],
      ] as const) {
        const x = randomArray(rng, rows * cols, 3, 0.5);
        const got = new Float32Array(rows * cols).fill(Number.NaN);
        await engine.layerNormRows(x, got, rows, cols, 1e-6);
        const ref = withReferenceEngine(() => layerNorm(new Tensor([rows, cols], x), 1e-6)).data;
        compareRows(got, ref, tol, `layerNormRows ${rows}×${cols}`);
      }
    });

    test('groupNorm (when provided) matches the reference', async (ctx) => {
      if (!engine.groupNorm) return ctx.skip();
      const rng = new Rng(seed + 400);
      for (const [B, C, H, W, groups] of [
        [1, 2, 1, 1, 1],
        [2, 6, 3, 5, 3],
        [1, 32, 4, 4, 32],
        [2, 8, 7, 3, 2],
      ] as const) {
        const x = randomArray(rng, B * C * H * W, 2, -0.3);
        const weight = randomArray(rng, C),
          bias = randomArray(rng, C);
        const got = new Float32Array(x.length).fill(Number.NaN);
        await engine.groupNorm(x, got, B, C, H * W, groups, weight, bias, 1e-6);
        const ref = withReferenceEngine(() =>
          groupNorm(new Tensor([B, C, H, W], x), groups, new Tensor([C], weight), new Tensor([C], bias), 1e-6),
        ).data;
        compareRows(got, ref, tol, `groupNorm ${B}×${C}×${H}×${W}/${groups}`);
      }
    });

    test('softmaxRows (when provided) matches the reference, masked (−Infinity) entries exactly 0', async (ctx) => {
      if (!engine.softmaxRows) return ctx.skip();
      const rng = new Rng(seed + 500);
      for (const [rows, cols] of [
        [1, 1],
        [3, 7],
        [9, 130],
      ] as const) {
        const x = randomArray(rng, rows * cols, 8);
        for (let i = 1; i < x.length; i += 3) if (i % cols !== 0) x[i] = -Infinity;
        const got = new Float32Array(x.length).fill(Number.NaN);
        await engine.softmaxRows(x, got, rows, cols);
        const ref = withReferenceEngine(() => softmax(new Tensor([rows, cols], x))).data;
        for (let i = 0; i < x.length; i++)
          if (x[i] === -Infinity) expect(got[i], `softmaxRows masked entry ${i}`).toBe(0);
        compareRows(got, ref, tol, `softmaxRows ${rows}×${cols}`);
      }
    });

    for (const [name, op] of [
      ['geluTanh', geluTanh],
      ['silu', silu],
    ] as const) {
      test(`${name} (when provided) matches the reference, large |x| included`, async (ctx) => {
        const kernel = engine[name];
        if (!kernel) return ctx.skip();
        const rng = new Rng(seed + 600);
        for (const n of [1, 7, 1027]) {
          const x = randomArray(rng, n, 12);
          if (n > 2) {
            x[0] = 80;
            x[1] = -80;
          }
          const got = new Float32Array(n).fill(Number.NaN);
          await kernel.call(engine, x, got, n);
          const ref = withReferenceEngine(() => op(new Tensor([n], x))).data;
          compareRows(got, ref, tol, `${name} n=${n}`);
        }
      });
    }

    test('feedForward (when provided) matches linear → geluTanh → linear on the reference', async (ctx) => {
      if (!engine.feedForward) return ctx.skip();
      const rng = new Rng(seed + 700);
      for (const [rows, inF, hidden] of [
        [1, 1, 4],
        [5, 9, 37],
        [33, 64, 256],
      ] as const) {
        const x = randomArray(rng, rows * inF, 2);
        const w1 = randomArray(rng, hidden * inF, 1 / Math.sqrt(inF)),
          b1 = randomArray(rng, hidden);
        const w2 = randomArray(rng, inF * hidden, 1 / Math.sqrt(hidden)),
          b2 = randomArray(rng, inF);
        const ref = withReferenceEngine(() =>
          linear(
            geluTanh(linear(new Tensor([rows, inF], x), new Tensor([hidden, inF], w1), new Tensor([hidden], b1))),
            new Tensor([inF, hidden], w2),
            new Tensor([inF], b2),
          ),
        ).data;
        const got = new Float32Array(rows * inF).fill(Number.NaN);
        await engine.feedForward(x, rows, inF, w1, b1, hidden, w2, b2, got);
        // two products and a GELU in float32: the error is relative to the output's size, not to each entry's
        compareToLargest(got, ref, 100 * tol, `feedForward ${rows}×${inF}→${hidden}`);
      }
    });

    test('featureNet (when provided) runs a recorded net as core runs its ops, or declines it having written nothing', async (ctx) => {
      if (!engine.featureNet) return ctx.skip();
      const rng = new Rng(seed + 800);
      const conv = (co: number, ci: number, k: number, stride = 1) => ({
        weight: new Tensor([co, ci, k, k], randomArray(rng, co * ci * k * k, 1 / Math.sqrt(ci * k * k))),
        bias: new Tensor([co], randomArray(rng, co)),
        stride,
        padding: (k - 1) / 2,
      });
      const norm = (c: number, groups: number) => ({
        weight: new Tensor([c], randomArray(rng, c)),
        bias: new Tensor([c], randomArray(rng, c)),
        groups,
        eps: 1e-6,
      });
      const n1 = norm(8, 4),
        c1 = conv(12, 8, 3),
        sc = conv(12, 8, 1),
        n2 = norm(12, 2),
        c2 = conv(4, 12, 3, 2);
      const builds: FeatureBuild[] = [
        (ops, x) => ops.add(ops.conv2d(x, sc), ops.conv2d(ops.silu(ops.groupNorm(x, n1)), c1)),
        (ops, x) => ops.conv2d(ops.silu(ops.groupNorm(ops.upsampleNearest2x(x), n2)), c2),
      ];
      for (const [B, H, W] of [
        [1, 1, 1],
        [2, 5, 3],
      ] as const) {
        const x = new Tensor([B, 8, H, W], randomArray(rng, B * 8 * H * W, 2));
        const ref = withReferenceEngine(() => builds.reduce((v, b) => b(eagerFeatureOps, v), x));
        const got = new Float32Array(ref.data.length).fill(Number.NaN);
        const net = recordFeatureNet('conformance net', 8, builds);
        // core's call: the engine's featureNet, or node by node on its per-op fast paths when it declines
        const called = await withDenseEngine(engine, () => onEngine.featureNet(net, x));
        compareToLargest(called.data, ref.data, 100 * tol, `featureNet call ${B}×8×${H}×${W}`);
        if (!(await engine.featureNet(net, x.data, [B, 8, H, W], got))) {
          expect(got.every(Number.isNaN), 'a declined net writes nothing').toBe(true);
          continue;
        }
        compareToLargest(got, ref.data, 100 * tol, `featureNet ${B}×8×${H}×${W}`);
      }
    });

    if (owned) {
      test('the engine it created disposes cleanly', async () => {
        await expect(Promise.resolve(engine.dispose?.())).resolves.toBeUndefined();
      });
    }
  });
}

/** Uniform values in [center − spread, center + spread). */
function randomArray(rng: Rng, n: number, spread = 1, center = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = center + spread * (2 * rng.uniform() - 1);
  return out;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function checkClose(got: number, ref: number, bound: number, where: string): void {
  if (!(Math.abs(got - ref) <= bound))
    throw new Error(`${where}: got ${got}, reference ${ref} (allowed error ${bound.toExponential(2)})`);
}

/** |got − ref| ≤ tol·(max|ref| + 1) everywhere: for composite ops whose error follows the output's overall size. */
function compareToLargest(got: Float32Array, ref: Float32Array, tol: number, where: string): void {
  expect(got.length, `${where}: length`).toBe(ref.length);
  let largest = 0;
  for (const v of ref) largest = Math.max(largest, Math.abs(v));
  for (let i = 0; i < got.length; i++) checkClose(got[i], ref[i], tol * (largest + 1), `${where} [${i}]`);
}

function compareRows(got: Float32Array, ref: Float32Array, tol: number, where: string): void {
  for (let i = 0; i < got.length; i++)
    checkClose(got[i], ref[i], tol * (Math.abs(ref[i]) + 1e-3) + 1e-7, `${where} [${i}]`);
}
