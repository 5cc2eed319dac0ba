/**
 * The shared backend conformance suite (docs/architecture.md §7). Every backend package calls
 * `testAttentionBackend(backend, { tolerance })` from its own tests; one suite, many backends.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionBackend, AttentionInstance, AttentionMask, AttentionResult } from '../attention/contract.js';
import { ATTENTION_API_VERSION } from '../attention/contract.js';
import { referenceAttention } from '../attention/reference.js';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';

export interface ConformanceOptions {
  /** Max abs error allowed against the float64 reference for exact (uncertified) results. */
  tolerance: number;
  /** Options for backend.create(). */
  createOptions?: Record<string, unknown>;
  /** Extra slack added to a certificate's bound for float32 output rounding (default 1e-5). */
  certificateSlack?: number;
  /** Names this run in test titles (e.g. the gpu.js mode) when a backend runs the suite more than once. */
  label?: string;
}

export function randomTensor(rng: Rng, shape: number[], std = 1): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(shape, rng.normalArray(size, std));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Takes positions t0..t1 of every (b, h) slice of a (B, H, L, d) tensor. */
export function sliceTokens(t: Tensor, t0: number, t1: number): Tensor {
  const [B, H, L, d] = t.shape as [number, number, number, number];
  const out = new Tensor([B, H, t1 - t0, d]);
  for (let bh = 0; bh < B * H; bh++)
    out.data.set(t.data.subarray((bh * L + t0) * d, (bh * L + t1) * d), bh * (t1 - t0) * d);
  return out;
}

/** Concatenates (B, H, Li, d) tensors along L. */
export function concatTokens(parts: Tensor[]): Tensor {
  const [B, H, , d] = parts[0].shape as [number, number, number, number];
  const L = parts.reduce((s, p) => s + p.shape[2], 0);
  const out = new Tensor([B, H, L, d]);
  let off = 0;
  for (const p of parts) {
    const Li = p.shape[2];
    for (let bh = 0; bh < B * H; bh++)
      out.data.set(p.data.subarray(bh * Li * d, (bh + 1) * Li * d), (bh * L + off) * d);
    off += Li;
  }
  return out;
}

export function testAttentionBackend(backend: AttentionBackend, options: ConformanceOptions): void {
  const slack = options.certificateSlack ?? 1e-5;

  /** Checks a result against the float64 reference: within its certificate, or within tolerance. */
  function checkResult(result: AttentionResult, expected: Float64Array, label: string): void {
    expect(result.output.shape.length, `${label}: output rank`).toBe(4);
    expect(result.output.data.length, `${label}: output size`).toBe(expected.length);
    for (const x of result.output.data) if (!Number.isFinite(x)) expect.fail(`${label}: output has a non-finite value`);
    const err = maxAbsDiff(result.output.data, expected);
    if (result.certificate) {
      expect(result.certificate.errBoundMax, `${label}: certificate bound is a number`).toBeTypeOf('number');
      expect(err, `${label}: measured error ${err} vs certified ${result.certificate.errBoundMax}`).toBeLessThanOrEqual(
        result.certificate.errBoundMax + slack,
      );
    } else {
      expect(err, `${label}: error vs float64 reference`).toBeLessThanOrEqual(options.tolerance);
    }
  }

  async function withInstance<T>(fn: (att: AttentionInstance) => Promise<T>): Promise<T> {
    const att = await backend.create(options.createOptions);
    try {
      return await fn(att);
    } finally {
      await att.dispose();
    }
  }

  describe(`attention backend conformance: ${backend.id}${options.label ? ` [${options.label}]` : ''}`, () => {
    it('has a complete descriptor', () => {
      expect(backend.kind).toBe('attention');
      expect(backend.id).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(backend.package).toMatch(/^@?[\w./-]+$/);
      expect(backend.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(backend.apiVersion).toBe(ATTENTION_API_VERSION);
      expect(typeof backend.exact).toBe('boolean');
      expect(backend.capabilities.masks).toEqual(expect.arrayContaining(['none', 'block-causal']));
      expect(backend.capabilities.incrementalState).toBe(true);
    });

    it('probe() resolves to { available, reason }', async () => {
      const p = await backend.probe();
      expect(typeof p.available).toBe('boolean');
      expect(p.reason.length).toBeGreaterThan(0);
      expect(p.available, `probe says unavailable: ${p.reason}`).toBe(true);
    });

    const shapes: [number, number, number, number, number, string][] = [
      [1, 1, 1, 1, 4, 'one query, one key'],
      [2, 3, 7, 11, 5, 'head dim not a multiple of 4'],
      [1, 2, 16, 16, 64, 'head dim 64'],
      [2, 1, 3, 40, 3, 'more keys than queries'],
    ];
    for (const [B, H, Lq, Lk, d, label] of shapes) {
      it(`no mask matches the float64 reference: ${label} (B=${B}, H=${H}, Lq=${Lq}, Lk=${Lk}, d=${d})`, async () => {
        const rng = new Rng(B * 1000 + Lq * 10 + d);
        const q = randomTensor(rng, [B, H, Lq, d]);
        const k = randomTensor(rng, [B, H, Lk, d]);
        const v = randomTensor(rng, [B, H, Lk, d]);
        const scale = 1 / Math.sqrt(d);
        const result = await withInstance((att) => att.attend(q, k, v, { scale }));
        expect(result.output.shape).toEqual([B, H, Lq, d]);
        checkResult(result, referenceAttention(q, k, v, scale), label);
      });
    }

    const pyramids: [number[], number, string][] = [
      [[1, 5, 14, 30], 8, 'tiny VAR pyramid'],
      [[1, 5, 14, 30, 55, 91, 155], 5, 'seven scales, odd head dim'],
      [[3], 4, 'a single scale'],
    ];
    for (const [scaleEnds, d, label] of pyramids) {
      it(`block-causal mask matches the float64 reference: ${label}`, async () => {
        const L = scaleEnds[scaleEnds.length - 1];
        const rng = new Rng(L + d);
        const [q, k, v] = [0, 1, 2].map(() => randomTensor(rng, [2, 2, L, d])) as [Tensor, Tensor, Tensor];
        const mask: AttentionMask = { kind: 'block-causal', scaleEnds };
        const result = await withInstance((att) => att.attend(q, k, v, { scale: 0.5, mask }));
        checkResult(result, referenceAttention(q, k, v, 0.5, mask), label);
      });

      it(`incremental state equals the one-shot block-causal path: ${label}`, async () => {
        const L = scaleEnds[scaleEnds.length - 1];
        const rng = new Rng(7 * L + d);
        const [q, k, v] = [0, 1, 2].map(() => randomTensor(rng, [2, 2, L, d])) as [Tensor, Tensor, Tensor];
        const mask: AttentionMask = { kind: 'block-causal', scaleEnds };
        await withInstance(async (att) => {
          const oneShot = await att.attend(q, k, v, { scale: 0.5, mask });
          const ref = referenceAttention(q, k, v, 0.5, mask);
          const st = att.createState({ batch: 2, heads: 2, headDim: d, scale: 0.5 });
          const outs: Tensor[] = [];
          let start = 0;
          for (const end of scaleEnds) {
            await st.append(sliceTokens(k, start, end), sliceTokens(v, start, end));
            expect(st.length).toBe(end);
            const r = await st.attend(sliceTokens(q, start, end));
            checkResult(r, sliceRows(ref, q.shape, start, end), `${label}, scale ending at ${end}`);
            outs.push(r.output);
            start = end;
          }
          st.dispose();
          st.dispose();
          const incremental = concatTokens(outs);
          const tol = oneShot.certificate ? oneShot.certificate.errBoundMax * 2 + slack : options.tolerance;
          expect(maxAbsDiff(incremental.data, oneShot.output.data)).toBeLessThanOrEqual(Math.max(tol, 1e-5));
        });
      });
    }

    for (const [std, label] of [
      [6, 'large logits (softmax must subtract the max)'],
      [1e-3, 'tiny logits (near-uniform weights)'],
    ] as const) {
      it(`stays accurate with ${label}`, async () => {
        const rng = new Rng(99);
        const q = randomTensor(rng, [1, 2, 9, 8], std);
        const k = randomTensor(rng, [1, 2, 9, 8], std);
        const v = randomTensor(rng, [1, 2, 9, 8]);
        const result = await withInstance((att) => att.attend(q, k, v, { scale: 1 }));
        checkResult(result, referenceAttention(q, k, v, 1), label);
      });
    }

    it('accepts plain { shape, data } objects', async () => {
      const rng = new Rng(5);
      const plain = () => ({ shape: [1, 1, 3, 4], data: rng.normalArray(12) });
      const [q, k, v] = [plain(), plain(), plain()];
      const result = await withInstance((att) => att.attend(q, k, v, { scale: 0.5 }));
      checkResult(result, referenceAttention(q, k, v, 0.5), 'plain objects');
    });

    for (const bad of [NaN, Infinity, -Infinity]) {
      it(`rejects ${bad} in the inputs with a clear error`, async () => {
        const rng = new Rng(3);
        const q = randomTensor(rng, [1, 1, 4, 4]);
        const k = randomTensor(rng, [1, 1, 4, 4]);
        const v = randomTensor(rng, [1, 1, 4, 4]);
        v.data[5] = bad;
        await withInstance(async (att) => {
          await expect(att.attend(q, k, v, { scale: 1 })).rejects.toThrow(/v contains .*finite/);
          const st = att.createState({ batch: 1, heads: 1, headDim: 4, scale: 1 });
          await expect(st.append(k, v)).rejects.toThrow(/finite/);
        });
      });
    }

    it('rejects mismatched shapes and a bad mask with a clear error', async () => {
      const rng = new Rng(4);
      const q = randomTensor(rng, [1, 2, 4, 4]);
      const k = randomTensor(rng, [1, 2, 5, 4]);
      const v = randomTensor(rng, [1, 2, 5, 3]);
      await withInstance(async (att) => {
        await expect(att.attend(q, k, v, { scale: 1 })).rejects.toThrow(/v shape/);
        await expect(
          att.attend(q, k, k, { scale: 1, mask: { kind: 'block-causal', scaleEnds: [1, 4] } }),
        ).rejects.toThrow(/Lq = Lk/);
        await expect(
          att.attend(q, q, q, { scale: 1, mask: { kind: 'block-causal', scaleEnds: [3, 2, 4] } }),
        ).rejects.toThrow(/increasing/);
      });
    });

    it('dispose() is idempotent', async () => {
      const att = await backend.create(options.createOptions);
      await att.dispose();
      await att.dispose();
    });
  });
}

/** Rows t0..t1 of every (b, h) slice of a flat (B, H, L, d) float64 array. */
function sliceRows(flat: Float64Array, shape: number[], t0: number, t1: number): Float64Array {
  const [B, H, L, d] = shape as [number, number, number, number];
  const out = new Float64Array(B * H * (t1 - t0) * d);
  for (let bh = 0; bh < B * H; bh++) out.set(flat.subarray((bh * L + t0) * d, (bh * L + t1) * d), bh * (t1 - t0) * d);
  return out;
}
