/**
 * forget (core's DenseEngine.forget, called by generate({ releaseTransformer: true }) before the decode): the
 * sessions pinned under the given weights and the fused blocks built on them are released at once, a weight whose
 * JavaScript copy went to ONNX Runtime is then refused rather than run as an empty array, and a generation on the
 * tiny fixture that releases its transformer still gives the reference's greedy tokens and image.
 */
import { describe, expect, it } from 'vitest';
import { setDenseEngine } from '@nextscale/core';
import { generateNextScale, VARTransformer, VQVAE } from '@nextscale/core/models';
import {
  exactContext,
  fixture,
  maxAbsDiff,
  ref,
  refIndices,
  REFS_JSON,
  TINY_PATCH_NUMS,
} from '@nextscale/core/testing/var-tiny';
import { loadStateDict } from '@nextscale/core/weights';
import { createOnnxEngine } from './node.js';

describe('forget', () => {
  it('releases the sessions pinned under the weights; the released weight is refused afterwards', async () => {
    const engine = await createOnnxEngine({ threads: 1 });
    try {
      const w = Float32Array.from({ length: 12 }, (_, i) => i / 7);
      const other = Float32Array.from({ length: 12 }, (_, i) => -i / 5);
      const x = Float32Array.of(1, 2, 3, 4);
      const y = new Float32Array(3);
      // (worked out first: pinning hands each weight's JavaScript copy to ONNX Runtime, leaving the array empty)
      const want = [0, 1, 2].map((o) => [0, 1, 2, 3].reduce((s, i) => s + x[i]! * other[o * 4 + i]!, 0));
      await engine.linear(x, 1, 4, w, 3, null, y);
      await engine.linear(x, 1, 4, other, 3, null, y);
      expect(engine.liveSessions).toBe(2);
      await engine.forget([w, new Float32Array(4)]); // an array it holds nothing for is ignored
      expect(engine.liveSessions).toBe(1);
      await expect(engine.linear(x, 1, 4, w, 3, null, y)).rejects.toThrow(/already handed to ONNX Runtime/);
      await engine.linear(x, 1, 4, other, 3, null, y); // the other weight's session still runs
      for (let o = 0; o < 3; o++) expect(y[o]).toBeCloseTo(want[o]!, 5);
    } finally {
      await engine.dispose();
    }
  });

  it('a generation that releases its transformer frees the fused blocks before the decode and matches the reference', async () => {
    const engine = await createOnnxEngine({ threads: 2 });
    setDenseEngine(engine);
    try {
      const patchNums = TINY_PATCH_NUMS;
      const vae = VQVAE.fromStateDict((await loadStateDict(fixture('vae.safetensors'))).tensors, { patchNums });
      const transformer = VARTransformer.fromStateDict(await loadStateDict(fixture('var.safetensors')), { patchNums });
      const labels = REFS_JSON.info['ar.labels'] as number[];
      const live: { sessions: number; blocks: number }[] = [];
      const r = await generateNextScale(
        transformer,
        vae,
        {
          labels,
          cfg: 1.5,
          topK: 1,
          topP: 0,
          seed: 0,
          releaseTransformer: true,
          onProgress: (e) => {
            if (e.stage === 'decode' || e.scale === patchNums.length)
              live.push({ sessions: engine.liveSessions, blocks: engine.liveFusedBlocks });
          },
        },
        await exactContext(),
      );
      for (let si = 0; si < patchNums.length; si++)
        expect(Array.from(r.tokens[si]!)).toEqual(Array.from(await refIndices(`ar.cfg1p5.idx.s${si}`)));
      expect(maxAbsDiff(r.images.data, (await ref('ar.cfg1p5.img_01')).data)).toBeLessThanOrEqual(1e-4);
      const [atLastScale, atDecode] = live;
      const { depth } = transformer.config;
      expect(atLastScale!.blocks, 'the blocks ran fused').toBe(depth);
      // the fused blocks and the linears pinned under transformer weights (AdaLN, head) are gone before the decode
      expect(atDecode!.blocks).toBe(0);
      expect(atLastScale!.sessions - atDecode!.sessions).toBeGreaterThan(depth);
    } finally {
      setDenseEngine(null);
      await engine.dispose();
    }
  });
});
