/**
 * Every op of the engine against core's TypeScript reference (the plain-JS GEMM and the ops' own loops), on seeded
 * random shapes including odd sizes, one row, bias or none; plus batch invariance and run-to-run determinism.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, setDenseEngine, Tensor } from '@nextscale/core';
import { conv2d, geluTanh, layerNorm, linear, silu } from '@nextscale/core/ops';
import { LINEAR_CALL_BYTES, type OnnxDenseEngine } from './engine.js';
import { createOnnxEngine } from './node.js';

let engine: OnnxDenseEngine;
const rng = new Rng(14);

beforeAll(async () => {
  // the references: core's TypeScript kernels, whatever engine core installed by default
  setDenseEngine(null);
  // releaseWeights off: the tests read each weight again for the reference (the release path: at the end)
  engine = await createOnnxEngine({ threads: 2, releaseWeights: false });
});
afterAll(async () => {
  await engine.dispose();
});

/** max |a − b| / (1 + max |b|) over the arrays: float32 sums in another order differ by a few ulp of the largest terms. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
  }
  return m / scale;
}

describe('engine-onnx ops against the TypeScript reference', () => {
  it.each([
    [1, 1, 1, true],
    [1, 7, 5, false],
    [2, 64, 33, true],
    [13, 31, 17, true],
    [37, 129, 100, false],
    [96, 256, 96, true],
  ])('linear rows %i, in %i, out %i, bias %s', async (rows, inF, outF, withBias) => {
    const x = rng.normalArray(rows * inF);
    const w = rng.normalArray(outF * inF);
    const b = withBias ? rng.normalArray(outF) : null;
    const ref = linear(new Tensor([rows, inF], x), new Tensor([outF, inF], w), b ? new Tensor([outF], b) : null);
    const y = new Float32Array(rows * outF);
    await engine.linear(x, rows, inF, w, outF, b, y);
    expect(relErr(y, ref.data)).toBeLessThan(1e-5);
    // the pinned session is reused: a second call with other rows gives the reference again
    const x2 = rng.normalArray(3 * inF);
    const ref2 = linear(new Tensor([3, inF], x2), new Tensor([outF, inF], w), b ? new Tensor([outF], b) : null);
    const y2 = new Float32Array(3 * outF);
    await engine.linear(x2, 3, inF, w, outF, b, y2);
    expect(relErr(y2, ref2.data)).toBeLessThan(1e-5);
  });

  it('linear with in = 0 gives the bias (or zeros)', async () => {
    const y = new Float32Array(6).fill(7);
    await engine.linear(new Float32Array(0), 2, 0, new Float32Array(0), 3, Float32Array.of(1, 2, 3), y);
    expect(Array.from(y)).toEqual([1, 2, 3, 1, 2, 3]);
    await engine.linear(new Float32Array(0), 2, 0, new Float32Array(0), 3, null, y);
    expect(Array.from(y)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("has no gemmNT (ONNX Runtime is asynchronous): core's synchronous ops use the TypeScript GEMM", () => {
    expect('gemmNT' in engine).toBe(false);
  });

  it.each([
    // B, Ci, H, W, Co, k, stride, pad, bias
    [1, 1, 1, 1, 1, 1, 1, 0, true],
    [1, 3, 5, 7, 4, 3, 1, 1, true],
    [2, 5, 9, 6, 3, 3, 2, 1, false],
    [3, 7, 8, 8, 5, 1, 1, 0, true],
    [1, 4, 11, 13, 6, 3, 2, 0, true],
    [2, 6, 16, 16, 8, 3, 1, 1, true],
  ])(
    'conv2d B %i Ci %i %i×%i → Co %i, %i×%i kernel, stride %i, pad %i, bias %s',
    async (B, Ci, H, W, Co, k, s, p, withBias) => {
      const x = rng.normalArray(B * Ci * H * W);
      const w = rng.normalArray(Co * Ci * k * k);
      const b = withBias ? rng.normalArray(Co) : null;
      const ref = conv2d(new Tensor([B, Ci, H, W], x), new Tensor([Co, Ci, k, k], w), b ? new Tensor([Co], b) : null, {
        stride: s,
        padding: p,
      });
      const [, , outH, outW] = ref.shape as [number, number, number, number];
      const y = new Float32Array(ref.data.length);
      await engine.conv2d({
        x,
        batch: B,
        inChannels: Ci,
        height: H,
        width: W,
        weight: w,
        outChannels: Co,
        kernelH: k,
        kernelW: k,
        bias: b,
        strideH: s,
        strideW: s,
        padH: p,
        padW: p,
        y,
        outH,
        outW,
      });
      expect(relErr(y, ref.data)).toBeLessThan(1e-5);
    },
  );

  it("conv2d with the encoder's asymmetric Downsample2x padding (bottom/right only) through the output size", async () => {
    const [B, Ci, H, W, Co] = [1, 3, 8, 8, 4];
    const x = rng.normalArray(B * Ci * H * W);
    const w = rng.normalArray(Co * Ci * 9);
    const b = rng.normalArray(Co);
    const ref = conv2d(new Tensor([B, Ci, H, W], x), new Tensor([Co, Ci, 3, 3], w), new Tensor([Co], b), {
      stride: 2,
      padding: [0, 1, 0, 1],
    });
    const y = new Float32Array(ref.data.length);
    await engine.conv2d({
      x,
      batch: B,
      inChannels: Ci,
      height: H,
      width: W,
      weight: w,
      outChannels: Co,
      kernelH: 3,
      kernelW: 3,
      bias: b,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
      y,
      outH: ref.shape[2],
      outW: ref.shape[3],
    });
    expect(relErr(y, ref.data)).toBeLessThan(1e-5);
  });

  it.each([
    [1, 1],
    [3, 17],
    [10, 64],
    [7, 1023],
  ])('layerNormRows %i × %i', async (rows, cols) => {
    const x = rng.normalArray(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = x[i] * 3 + 1.5;
    const ref = layerNorm(new Tensor([rows, cols], x), 1e-6);
    const y = new Float32Array(rows * cols);
    await engine.layerNormRows(x, y, rows, cols, 1e-6);
    expect(relErr(y, ref.data)).toBeLessThan(2e-5);
  });

  it('leaves groupNorm to core (its loop was faster than ONNX Runtime’s InstanceNormalization graph at the decoder’s shapes)', async () => {
    expect('groupNorm' in engine).toBe(false);
  });
});

describe('engine-onnx determinism', () => {
  it('is batch-invariant (bit-identical rows at 1, 2, 7, 16 vs 64 rows) and repeatable for linear at d16 shapes', async () => {
    const [inF, outF] = [1024, 1024];
    const w = rng.normalArray(outF * inF);
    const b = rng.normalArray(outF);
    const x4 = rng.normalArray(64 * inF);
    const y4 = new Float32Array(64 * outF);
    await engine.linear(x4, 64, inF, w, outF, b, y4);
    const again = new Float32Array(64 * outF);
    await engine.linear(x4, 64, inF, w, outF, b, again);
    expect(again).toEqual(y4);
    for (const rows of [1, 2, 7, 16]) {
      const y = new Float32Array(rows * outF);
      await engine.linear(x4.subarray(0, rows * inF), rows, inF, w, outF, b, y);
      expect(bitEqual(y, y4.subarray(0, rows * outF)), `rows ${rows} vs 64`).toBe(true);
    }
  });

  it('splits a linear whose output passes LINEAR_CALL_BYTES into calls that give the same rows', async () => {
    // d16's head width: 4096 outputs, 16 KiB a row, so 600 rows (9.4 MiB) run as calls of 512 + 88 rows
    const [inF, outF, rows] = [64, 4096, 600];
    expect(rows * outF * 4).toBeGreaterThan(LINEAR_CALL_BYTES);
    const w = rng.normalArray(outF * inF);
    const b = rng.normalArray(outF);
    const x = rng.normalArray(rows * inF);
    const y = new Float32Array(rows * outF).fill(Number.NaN);
    await engine.linear(x, rows, inF, w, outF, b, y);
    // each row alone (one call each, far below the bound) is the reference: every row written, each one bit-identical
    for (const r of [0, 511, 512, 599]) {
      const one = new Float32Array(outF);
      await engine.linear(x.subarray(r * inF, (r + 1) * inF), 1, inF, w, outF, b, one);
      expect(bitEqual(y.subarray(r * outF, (r + 1) * outF), one), `row ${r}`).toBe(true);
    }
    expect(y.some(Number.isNaN)).toBe(false);
    const ref = linear(new Tensor([rows, inF], x), new Tensor([outF, inF], w), new Tensor([outF], b));
    expect(relErr(y, ref.data)).toBeLessThan(1e-5);
  });

  it('is batch-invariant and repeatable for conv2d', async () => {
    const [Ci, H, W, Co] = [64, 32, 32, 64];
    const w = rng.normalArray(Co * Ci * 9);
    const b = rng.normalArray(Co);
    const x4 = rng.normalArray(4 * Ci * H * W);
    const run = async (B: number) => {
      const y = new Float32Array(B * Co * H * W);
      await engine.conv2d({
        x: x4.subarray(0, B * Ci * H * W),
        batch: B,
        inChannels: Ci,
        height: H,
        width: W,
        weight: w,
        outChannels: Co,
        kernelH: 3,
        kernelW: 3,
        bias: b,
        strideH: 1,
        strideW: 1,
        padH: 1,
        padW: 1,
        y,
        outH: H,
        outW: W,
      });
      return y;
    };
    const y4 = await run(4);
    expect(await run(4)).toEqual(y4);
    expect(bitEqual(await run(1), y4.subarray(0, Co * H * W)), 'image 0 at batch 1 vs batch 4').toBe(true);
  });
});

function bitEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe('engine-onnx geluTanh / silu on long vectors', () => {
  for (const [name, op] of [
    ['geluTanh', geluTanh],
    ['silu', silu],
  ] as const) {
    for (const n of [(1 << 15) + 3, 200_001]) {
      it(`${name} n=${n}, |x| up to 80, within 1e-5·(|ref| + 1e-3) of the reference`, async () => {
        const x = rng.normalArray(n);
        for (let i = 0; i < n; i += 97) x[i] = (rng.uniform() * 2 - 1) * 80;
        x[1] = 80;
        x[2] = -80;
        const got = new Float32Array(n).fill(Number.NaN);
        await engine[name](x, got, n);
        const ref = op(new Tensor([n], x)).data;
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / (Math.abs(ref[i]) + 1e-3));
        expect(worst).toBeLessThan(1e-5);
        expect(engine.sessions).toBeGreaterThan(0);
      });
    }
  }
});

describe('engine-onnx geluTanh / silu batch invariance', () => {
  for (const name of ['geluTanh', 'silu'] as const) {
    it(`${name}: each value is bit-identical alone, in a short call and inside a long one`, async () => {
      const big = rng.normalArray(100_003, 3);
      const yBig = new Float32Array(big.length);
      await engine[name](big, yBig, big.length);
      for (const [off, n] of [
        [0, 1],
        [5, 7],
        [1001, 4099],
        [60_000, 33_333],
      ] as const) {
        const y = new Float32Array(n);
        await engine[name](big.slice(off, off + n), y, n);
        expect(bitEqual(y, yBig.subarray(off, off + n)), `${n} values at ${off}`).toBe(true);
      }
    });
  }
});

describe('engine-onnx releaseWeights', () => {
  it('frees a pinned weight array and keeps computing with ONNX Runtime’s copy', async () => {
    const e = await createOnnxEngine({ threads: 1, releaseWeights: true });
    try {
      const [rows, inF, outF] = [5, 33, 21];
      const w = rng.normalArray(outF * inF);
      const b = rng.normalArray(outF);
      const x = rng.normalArray(rows * inF);
      const ref = linear(new Tensor([rows, inF], x), new Tensor([outF, inF], w.slice()), new Tensor([outF], b));
      const y = new Float32Array(rows * outF);
      await e.linear(x, rows, inF, w, outF, b, y);
      expect(w.length).toBe(0); // the JavaScript copy is gone
      expect(e.releasedBytes).toBe(outF * inF * 4);
      const y2 = new Float32Array(rows * outF);
      await e.linear(x, rows, inF, w, outF, b, y2); // the same (now empty) array still finds its session
      expect(relErr(y2, ref.data)).toBeLessThan(1e-5);
      // a new graph for the released array (here: another bias) cannot be built from it: a clear error, no zeros
      await expect(e.linear(x, rows, inF, w, outF, null, y2)).rejects.toThrow(
        /already handed to ONNX Runtime .*releaseWeights: false/,
      );
    } finally {
      await e.dispose();
    }
  });

  it('is on by default and off with releaseWeights: false', async () => {
    const on = await createOnnxEngine({ threads: 1 });
    const off = await createOnnxEngine({ threads: 1, releaseWeights: false });
    try {
      const w = rng.normalArray(6 * 4);
      const w2 = w.slice();
      const x = rng.normalArray(3 * 4);
      const y = new Float32Array(3 * 6);
      await on.linear(x, 3, 4, w, 6, null, y);
      await off.linear(x, 3, 4, w2, 6, null, y);
      expect(w.length).toBe(0);
      expect(w2.length).toBe(6 * 4);
    } finally {
      await on.dispose();
      await off.dispose();
    }
  });
});
