import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Tensor, type AttentionMask } from '@nextscale/core';
import { referenceAttention } from '@nextscale/core/attention';
import { createWasmAttention, type QuerySegment } from './attention.js';

function expectBitwiseEqual(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) expect.fail(`${label}: element ${i} is ${got[i]}, want bitwise ${want[i]}`);
  }
}

function segmentsOf(mask: AttentionMask, Lq: number, Lk: number): QuerySegment[] {
  if (mask.kind === 'none') return [{ start: 0, end: Lq, keys: Lk }];
  let start = 0;
  return mask.scaleEnds.map((end) => {
    const s = { start, end, keys: end };
    start = end;
    return s;
  });
}

function run(
  att: ReturnType<typeof createWasmAttention>,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scale: number,
  mask: AttentionMask = { kind: 'none' },
) {
  const [B, H, Lq, d] = q.shape as [number, number, number, number];
  const Lk = k.shape[2];
  const out = new Float32Array(q.data.length).fill(NaN);
  att.attend({
    q: q.data,
    qOff: 0,
    k: k.data,
    v: v.data,
    kvOff: 0,
    kvStride: Lk * d,
    out,
    outOff: 0,
    slices: B * H,
    Lq,
    d,
    scale,
    segments: segmentsOf(mask, Lq, Lk),
  });
  return out;
}

function maxErr(a: Float32Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}

const rand = (rng: Rng, shape: number[], std = 1) =>
  new Tensor(
    shape,
    rng.normalArray(
      shape.reduce((x, y) => x * y, 1),
      std,
    ),
  );

describe('wasm exact attention (flash-style)', () => {
  const att = createWasmAttention({ threads: 1 });
  afterAll(() => att.dispose());

  // key counts around the key block (64) and query counts around the row group (16) and task (64) sizes
  const cases: [number, number, number, number, number][] = [
    [1, 1, 1, 1, 4],
    [2, 3, 7, 11, 5],
    [1, 2, 16, 16, 64],
    [2, 1, 3, 40, 3],
    [1, 1, 17, 63, 8],
    [1, 2, 65, 64, 16],
    [1, 1, 33, 129, 64],
    [1, 1, 130, 200, 24],
  ];
  for (const [B, H, Lq, Lk, d] of cases) {
    it(`matches the float64 reference within 1e-6 (B=${B}, H=${H}, Lq=${Lq}, Lk=${Lk}, d=${d})`, () => {
      const rng = new Rng(B * 7 + Lq * 13 + Lk + d);
      const q = rand(rng, [B, H, Lq, d]);
      const k = rand(rng, [B, H, Lk, d]);
      const v = rand(rng, [B, H, Lk, d]);
      const scale = 1 / Math.sqrt(d);
      expect(maxErr(run(att, q, k, v, scale), referenceAttention(q, k, v, scale))).toBeLessThanOrEqual(1e-6);
    });
  }

  it('applies a block-causal mask (each scale sees the keys up to its end)', () => {
    const rng = new Rng(5);
    const ends = [1, 5, 14, 30, 55, 91, 155];
    const L = 155;
    const [q, k, v] = [0, 1, 2].map(() => rand(rng, [2, 2, L, 5])) as [Tensor, Tensor, Tensor];
    const mask: AttentionMask = { kind: 'block-causal', scaleEnds: ends };
    const got = run(att, q, k, v, 0.5, mask);
    expect(maxErr(got, referenceAttention(q, k, v, 0.5, mask))).toBeLessThanOrEqual(1e-6);
    // and differs from the unmasked result: the mask is really applied
    expect(maxErr(got, referenceAttention(q, k, v, 0.5))).toBeGreaterThan(1e-2);
  });

  it('stays accurate with large logits (float64 logits) and near-uniform weights', () => {
    const rng = new Rng(99);
    for (const std of [6, 20, 1e-3]) {
      const q = rand(rng, [1, 2, 9, 8], std);
      const k = rand(rng, [1, 2, 90, 8], std);
      const v = rand(rng, [1, 2, 90, 8]);
      expect(maxErr(run(att, q, k, v, 1), referenceAttention(q, k, v, 1)), `std ${std}`).toBeLessThanOrEqual(1e-6);
    }
  });

  it('reads K/V with a slice stride (a KV cache with spare rows) and writes only the output', () => {
    const rng = new Rng(6);
    const [S, Lq, n, cap, d] = [3, 10, 70, 96, 12];
    const q = rng.normalArray(S * Lq * d);
    const k = rng.normalArray(5 + S * cap * d);
    const v = rng.normalArray(5 + S * cap * d);
    const out = new Float32Array(2 + S * Lq * d + 2).fill(7);
    att.attend({
      q,
      qOff: 0,
      k,
      v,
      kvOff: 5,
      kvStride: cap * d,
      out,
      outOff: 2,
      slices: S,
      Lq,
      d,
      scale: 0.3,
      segments: [{ start: 0, end: Lq, keys: n }],
    });
    expect([out[0], out[1], out[out.length - 1]]).toEqual([7, 7, 7]);
    for (let s = 0; s < S; s++) {
      const pick = (src: Float32Array, off: number, rows: number) =>
        new Tensor([1, 1, rows, d], src.slice(off, off + rows * d));
      const ref = referenceAttention(
        pick(q, s * Lq * d, Lq),
        pick(k, 5 + s * cap * d, n),
        pick(v, 5 + s * cap * d, n),
        0.3,
      );
      expect(maxErr(out.subarray(2 + s * Lq * d, 2 + (s + 1) * Lq * d), ref)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('splits slices over several jobs when they exceed the chunk, with bitwise the same result', () => {
    const rng = new Rng(8);
    const [q, k, v] = [0, 1, 2].map(() => rand(rng, [2, 3, 20, 8])) as [Tensor, Tensor, Tensor];
    const small = createWasmAttention({ threads: 1, chunkFloats: 1 });
    expectBitwiseEqual(run(small, q, k, v, 0.4), run(att, q, k, v, 0.4), 'one slice per job');
  });

  it('gives bitwise the same output on 1 and 2 threads, and the worker takes tasks', async () => {
    const two = createWasmAttention({ threads: 2, parallelThreshold: 0 });
    try {
      await two.ready();
      const rng = new Rng(9);
      const mask: AttentionMask = { kind: 'block-causal', scaleEnds: [1, 5, 14, 30, 55, 91, 155, 255, 424] };
      for (let rep = 0; rep < 3; rep++) {
        const [q, k, v] = [0, 1, 2].map(() => rand(rng, [1, 2, 424, 64])) as [Tensor, Tensor, Tensor];
        expectBitwiseEqual(run(two, q, k, v, 0.125, mask), run(att, q, k, v, 0.125, mask), `rep ${rep}`);
      }
      expect(two.tasksPerThread()[1]).toBeGreaterThan(0);
    } finally {
      await two.dispose();
    }
  });
});
