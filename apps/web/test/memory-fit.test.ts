/**
 * The memory check before the onnx engines load a model, on released model shapes from their configuration alone
 * (core's lazy random-weight entries: shapes, no tensor data), so that no gigabytes are served or allocated.
 */
import { describe, expect, it } from 'vitest';
import {
  randomVARStateDictEntries,
  randomVQVAEStateDictEntries,
  releasedVARSpec,
  releasedVQVAEConfig,
} from '@nextscale/core/models';
import { RELEASED_MODELS } from '@nextscale/hub/browser';
import { catalogueSize, checkFit, modelSize, type AdapterLimits } from '../src/worker/memory-fit.js';

function released(depth: number) {
  const s = releasedVARSpec(depth);
  const v = releasedVQVAEConfig();
  const tensors = [...randomVARStateDictEntries(s), ...randomVQVAEStateDictEntries(v)].map(
    (e) => [e.name, e] as [string, { shape: readonly number[] }],
  );
  return modelSize(
    {
      depth,
      embedDim: s.C,
      vocabSize: s.vocab,
      mlpHidden: s.mlpHidden,
      patchNums: s.patchNums,
      vaeCh: v.ch,
      vaeChMult: v.chMult,
      imageSize: 256,
    },
    tensors,
  );
}

/** WebGPU's default limits (what every adapter offers at least). */
const DEFAULT_ADAPTER: AdapterLimits = {
  name: 'SwiftShader Device (Subzero)',
  maxBufferSize: 256 * 2 ** 20,
  maxStorageBufferBindingSize: 128 * 2 ** 20,
};

describe('memory fit', () => {
  it('a d16 (1.7 GB of float32 weights) fits the wasm engine; the line gives the sum', () => {
    // KV: 16 blocks · K and V · 2 rows · 680 tokens · 1024 · 4 B = 178.3 MB; working set: the decoder's 160-channel
    // 256² map, in + out + 9× im2col = 11 · 41.9 MB = 461.4 MB
    const d16 = released(16);
    expect(d16.weightBytes / 1e9).toBeCloseTo(1.68, 1);
    const fit = checkFit('onnx', d16, 1)!;
    expect(fit.ok).toBe(true);
    expect(fit.text).toMatch(
      /^fits onnxruntime-web's wasm32 instance: weights 1\.68 GB \+ KV cache 178\.3 MB \+ working set 461\.4 MB = 2\.32 GB of 4\.29 GB$/,
    );
  });

  it('a d30 (8.5 GB of weights) is refused on the wasm engine with the numbers, and fits WebGPU buffers', () => {
    const d30 = released(30);
    const fit = checkFit('onnx', d30, 1)!;
    expect(fit.ok).toBe(false);
    expect(fit.text).toMatch(
      /^this model does not fit onnxruntime-web's wasm engine: weights 8\.48 GB \+ KV cache 626\.7 MB \+ working set 461\.4 MB = 9\.57 GB, over wasm32's 4\.29 GB per instance; choose the onnx-webgpu engine/,
    );
    expect(checkFit('onnx-webgpu', d30, 1, DEFAULT_ADAPTER)!.ok).toBe(true);
  });

  it('a d16 with 16 images does not fit the wasm engine (its KV cache and working set grow with the batch)', () => {
    expect(checkFit('onnx', released(16), 1)!.ok).toBe(true);
    const fit = checkFit('onnx', released(16), 16)!;
    expect(fit.ok).toBe(false);
    expect(fit.text).toMatch(/KV cache 2\.85 GB/);
  });

  it("WebGPU: a buffer over the adapter's limits is refused naming the buffer and the limits", () => {
    // ada_lin: 6C × C = 6144 × 1024 floats = 25.2 MB, the largest d16 weight
    const small = { ...DEFAULT_ADAPTER, maxStorageBufferBindingSize: 8 * 2 ** 20 };
    const fit = checkFit('onnx-webgpu', released(16), 1, small)!;
    expect(fit.ok).toBe(false);
    expect(fit.text).toBe(
      "this model does not fit the WebGPU adapter: the largest weight (blocks.0.ada_lin.1.weight) needs a 25.2 MB buffer, over SwiftShader Device (Subzero)'s maxBufferSize 268.4 MB, maxStorageBufferBindingSize 8.4 MB; choose the onnx engine, fewer images, or a smaller model",
    );
    expect(checkFit('onnx-webgpu', released(16), 1, null)).toBeNull(); // no adapter: the engine's start refuses
    expect(checkFit('wasm', released(30), 1)).toBeNull();
  });

  it("a released name's figures before download: the catalogue's file sizes within 0.1%; d16, d20 fit wasm32, d24 and up do not", () => {
    const verdicts = RELEASED_MODELS.map((e) => {
      const m = catalogueSize(e)!;
      expect(Math.abs(m.weightBytes / (e.bytes.var + e.bytes.vae) - 1), e.name).toBeLessThan(1e-3);
      return [e.name, checkFit('onnx', m, 1)!.ok];
    });
    expect(verdicts).toEqual([
      ['var-d16', true],
      ['var-d20', true],
      ['var-d24', false],
      ['var-d30', false],
      ['var-d36', false],
    ]);
  });
});
