/**
 * The memory check before loading, on the released shapes from their lazy random-weight entries (shapes only: no
 * gigabytes are allocated), with the limit given explicitly so that the test does not depend on this machine.
 */
import { describe, expect, it } from 'vitest';
import {
  randomVARStateDictEntries,
  randomVQVAEStateDictEntries,
  releasedVARSpec,
  releasedVQVAEConfig,
} from '../models/random-weights.js';
import {
  availableMemory,
  checkMemoryFit,
  estimateMemoryNeed,
  MemoryError,
  maxImagesThatFit,
  parseByteSize,
  weightBytesOf,
} from './memory-fit.js';

function released(depth: number) {
  const s = releasedVARSpec(depth);
  const v = releasedVQVAEConfig();
  const model = {
    depth,
    embedDim: s.C,
    numHeads: s.heads,
    vocabSize: s.vocab,
    mlpHidden: s.mlpHidden,
    patchNums: s.patchNums,
    vaeCh: v.ch,
    vaeChMult: v.chMult,
  };
  const weights = weightBytesOf([...randomVARStateDictEntries(s), ...randomVQVAEStateDictEntries(v)]);
  return { model, weights };
}

const GB = 1e9;

describe('the memory check before loading', () => {
  it('d36 at 512 px: 9.9 GB of weights and a 3.0 GB KV cache with guidance, counted from the shapes', () => {
    const { model, weights } = released(36);
    // VAR: the hub catalogue's 9,435,995,712 B with lvl_1L's 2240 int64 counted as float32; VQ-VAE: 108,948,355
    // parameters and the 10 × 4096 ema_vocab_hit_SV buffer, float32
    expect(weights.bytes).toBe(9_435_995_712 - 4 * 2240 + 4 * (108_948_355 + 10 * 4096));
    // one block: qkv 3C² + proj C² + fc1/fc2 8C² (shared AdaLN: no per-block ada_lin), C = 2304, plus its vectors
    expect(weights.largestBlockBytes).toBeGreaterThan(4 * 12 * 2304 ** 2);
    expect(weights.largestBlockBytes).toBeLessThan(4 * 12.01 * 2304 ** 2);
    const need = estimateMemoryNeed(model, weights, { images: 1 }, 'onnx');
    // K and V · 36 blocks · 2 rows · 2240 tokens · 2304 · 4 B
    expect(need.kvCache).toBe(2 * 36 * 2 * 2240 * 2304 * 4);
    expect(need.total).toBe(need.weights + need.kvCache + need.workingSet);
    // runtime 0.3 + the decoder's 512² level-0 map (160 channels: 168 MB) × 11 + one block twice (0.51)
    expect(need.workingSet / GB).toBeCloseTo(0.3 + (11 * 160 * 512 ** 2 * 4 + 3 * 512 ** 2 * 4) / GB + 0.51, 2);
  });

  it('fits a 24 GB machine; refused under the need with the numbers and the fixes that would fit', () => {
    const { model, weights } = released(36);
    const need = checkMemoryFit({
      model,
      weights,
      request: { images: 1 },
      engine: 'onnx',
      available: { bytes: 22 * GB, source: 'test' },
    });
    expect(need.total / GB).toBeCloseTo(15.5, 1);
    const refuse = () =>
      checkMemoryFit({
        model,
        weights,
        request: { images: 2 },
        engine: 'onnx',
        available: { bytes: 16 * GB, source: 'test' },
      });
    expect(refuse).toThrow(MemoryError);
    expect(refuse).toThrow(
      /^VAR-d36 at 512 px, 2 images at once, on the onnx engine needs about 20\.\d GB of memory \(weights 9\.9 GB \+ KV cache 5\.9 GB \+ working set \d\.\d GB\), but 16\.0 GB is available \(test\) — generate at most 1 image at once, or use a smaller model or a machine with more memory$/,
    );
  });

  it('a batch: refused with the most images that fit, which does fit while one more does not', () => {
    const { model, weights } = released(16);
    const available = { bytes: 8 * GB, source: 'test' };
    const check = { model, weights, request: { images: 1000 }, engine: 'onnx', available };
    let err: unknown;
    try {
      checkMemoryFit(check);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemoryError);
    const most = (err as MemoryError).maxImages;
    expect(most).toBeGreaterThan(1);
    expect(most).toBe(maxImagesThatFit(check));
    expect((err as MemoryError).message).toMatch(
      new RegExp(
        `^VAR-d16 at 256 px, 1,000 images at once, on the onnx engine needs about .* — generate at most ${most} images at once`,
      ),
    );
    expect(checkMemoryFit({ ...check, request: { images: most } }).total).toBeLessThanOrEqual(8 * GB);
    expect(() => checkMemoryFit({ ...check, request: { images: most + 1 } })).toThrow(MemoryError);
  });

  it("counts the caller's output stage and refuses a buffer over the caller's limit", () => {
    const { model, weights } = released(16);
    const request = { images: 4 };
    const plain = estimateMemoryNeed(model, weights, request, 'wasm');
    const big = { bytes: 40 * GB, largestBuffer: 10 * GB };
    const withOutput = estimateMemoryNeed(model, weights, { ...request, output: () => big }, 'wasm');
    expect(withOutput.total).toBeGreaterThan(plain.weights + plain.kvCache + 40 * GB); // the output stage is the largest
    expect(withOutput.largestBuffer).toBe(10 * GB);
    const sides: number[] = [];
    estimateMemoryNeed(model, weights, { ...request, output: (side, n) => (sides.push(side, n), big) }, 'wasm');
    expect(sides).toEqual([256, 4]);
    expect(() =>
      checkMemoryFit({
        model,
        weights,
        request: { ...request, output: (_side, n) => ({ bytes: 0, largestBuffer: n * 1.25 * GB }) },
        available: { bytes: 1000 * GB, source: 'test' },
        maxBuffer: 4 * GB,
      }),
    ).toThrow(
      /^VAR-d16 at 256 px, 4 images at once: one of its buffers would need 5\.0 GB, over the 4\.0 GB limit for a single buffer — generate at most 3 images at once, or use a smaller model/,
    );
  });

  it('the wasm engine holds the weights once: offered where it fits and onnx does not', () => {
    const { model, weights } = released(30);
    const onnx = estimateMemoryNeed(model, weights, { images: 1 }, 'onnx');
    const wasm = estimateMemoryNeed(model, weights, { images: 1 }, 'wasm');
    expect(onnx.total - wasm.total).toBe(2 * weights.largestBlockBytes);
    const between = { bytes: (onnx.total + wasm.total) / 2, source: 'test' };
    expect(() =>
      checkMemoryFit({ model, weights, request: { images: 1 }, engine: 'onnx', available: between }),
    ).toThrow(/— use the wasm engine \(it holds the weights once: 9\.\d GB; slower\), or use a smaller model/);
  });

  it('NEXTSCALE_MEMORY_LIMIT sets what is available; a bad value is a usage error', () => {
    expect(availableMemory({ NEXTSCALE_MEMORY_LIMIT: '8GB' })).toEqual({
      bytes: 8e9,
      source: 'NEXTSCALE_MEMORY_LIMIT',
    });
    expect(availableMemory({ NEXTSCALE_MEMORY_LIMIT: '512 MiB' }).bytes).toBe(512 * 2 ** 20);
    expect(availableMemory({ NEXTSCALE_MEMORY_LIMIT: '2000000' }).bytes).toBe(2e6);
    expect(() => availableMemory({ NEXTSCALE_MEMORY_LIMIT: '8 bananas' })).toThrow(/is not a size/);
    expect(parseByteSize('1.5g')).toBe(1.5e9);
    expect(availableMemory({}).bytes).toBeGreaterThan(0);
  });
});
