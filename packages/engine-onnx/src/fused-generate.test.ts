/**
 * Core's VAR with this engine's fused transformer blocks active (block-graph.ts via core's fused-block.ts), on the
 * tiny fixture: greedy next-scale generation gives exactly the PyTorch reference's tokens and its image within 1e-4,
 * teacher forcing through the fused masked blocks matches the op-by-op path, and the trace records every head
 * group's exact decision with the engine that ran it. A policy routing to any other backend keeps the blocks split.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionTrace, createRegistry, explicitPolicy, setDenseEngine, type Tensor } from '@nextscale/core';
import { AttentionRouter } from '@nextscale/core/attention';
import { generateNextScale, VARTransformer, VQVAE } from '@nextscale/core/models';
import { exactTestBackend } from '@nextscale/core/testing';
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
import { BlockRunner } from './block-runner.js';
import { OnnxDenseEngine } from './engine.js';
import { createOnnxEngine, loadOrt } from './node.js';
import { OrtSessions } from './sessions.js';

const S = TINY_PATCH_NUMS.length;
const labels = REFS_JSON.info['ar.labels'] as number[];
// releaseWeights off: the same model also runs op by op below (the comparison), which reads the weights again
const engine = await createOnnxEngine({ threads: 2, releaseWeights: false });
setDenseEngine(engine);
afterAll(async () => {
  setDenseEngine(null);
  await engine.dispose();
});
const vae = VQVAE.fromStateDict((await loadStateDict(fixture('vae.safetensors'))).tensors, {
  patchNums: TINY_PATCH_NUMS,
});
const transformer = VARTransformer.fromStateDict(await loadStateDict(fixture('var.safetensors')), {
  patchNums: TINY_PATCH_NUMS,
});
const depth = transformer.config.depth;

describe('fused transformer blocks on the tiny fixture', () => {
  it('greedy generation (cfg 1.5) gives the reference tokens and image; the trace says the attention ran fused', async () => {
    const ctx = await exactContext();
    const r = await generateNextScale(transformer, vae, { labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 }, ctx);
    for (let si = 0; si < S; si++)
      expect(Array.from(r.tokens[si]), `scale ${si}`).toEqual(Array.from(await refIndices(`ar.cfg1p5.idx.s${si}`)));
    expect(maxAbsDiff(r.images.data, (await ref('ar.cfg1p5.img_01')).data)).toBeLessThanOrEqual(1e-4);
    const blocks = ctx.trace.entries.filter((e) => e.site.startsWith('var.blocks.'));
    expect(blocks.map((e) => e.site)).toEqual(Array.from({ length: depth }, (_, i) => `var.blocks.${i}.attn`));
    for (const e of blocks) {
      expect(e.backend).toBe('exact-test');
      expect(e.fusedIn).toBe('onnx');
      expect(e.reason).toMatch(/ran fused inside engine onnx/);
      expect(e.heads).toEqual(Array.from({ length: transformer.config.numHeads }, (_, h) => h));
    }
    expect(engine.fusedBlocks, 'one fused session per block').toBe(depth);
  });

  it('teacher forcing through the fused masked blocks matches the op-by-op blocks within 1e-4', async () => {
    const idx = await Promise.all(Array.from({ length: S }, (_, si) => refIndices(`ar.cfg1p5.idx.s${si}`)));
    const xBLCv = await vae.quantizer.idxToVarInput(idx, labels.length);
    const fusedCtx = await exactContext();
    const fused = await transformer.forward(labels, xBLCv, fusedCtx);
    expect(fusedCtx.trace.entries.filter((e) => e.fusedIn === 'onnx').length).toBe(depth);
    expect(engine.fusedBlocks, "the generation's sessions serve teacher forcing too").toBe(depth);
    const captured = new Map<string, Tensor>();
    const splitCtx = await exactContext(captured); // a capture needs the block's inner tensors: never fused
    const split = await transformer.forward(labels, xBLCv, splitCtx);
    expect(splitCtx.trace.entries.some((e) => e.fusedIn)).toBe(false);
    expect(captured.has('block0.q')).toBe(true);
    expect(maxAbsDiff(fused.data, split.data)).toBeLessThanOrEqual(1e-4);
  });

  it("an image's tokens do not depend on its batch, nor on how the engine splits the batch's rows over calls", async () => {
    // sampled (top-k, top-p) with one seed per image; the batch runs on an engine that gives every block call one
    // row (block-rows.ts at a 1-byte budget), each image alone on the default engine (all rows in one call)
    const loaded = await loadOrt();
    if (!loaded.ok) throw new Error(loaded.reason);
    const settings = {
      executionProviders: ['cpu'],
      cpu: { threads: 2, memArena: false, spinning: false, prepack: true },
    };
    const rowByRow = new OnnxDenseEngine(
      new OrtSessions(loaded.ort, settings, 'onnxruntime-node cpu'),
      2,
      false,
      new BlockRunner(loaded.ort as never, settings, 1),
    );
    const batchLabels = [3, 7, 3, 9];
    const seeds = [11, 12, 13, 14];
    const sampling = { cfg: 1.5, topK: 20, topP: 0.9 };
    setDenseEngine(rowByRow);
    let batch: Awaited<ReturnType<typeof generateNextScale>>;
    try {
      batch = await generateNextScale(
        transformer,
        vae,
        { labels: batchLabels, seeds, ...sampling },
        await exactContext(),
      );
    } finally {
      setDenseEngine(engine);
      await rowByRow.dispose();
    }
    expect(new Set(batch.tokens.at(-1)).size, 'the images differ').toBeGreaterThan(1);
    for (const [b, label] of batchLabels.entries()) {
      const alone = await generateNextScale(
        transformer,
        vae,
        { labels: [label], seeds: [seeds[b]], ...sampling },
        await exactContext(),
      );
      for (let si = 0; si < S; si++) {
        const n = TINY_PATCH_NUMS[si] ** 2;
        expect(Array.from(alone.tokens[si]), `image ${b}, scale ${si}`).toEqual(
          Array.from(batch.tokens[si].subarray(b * n, (b + 1) * n)),
        );
      }
      const px = alone.images.data.length;
      expect(maxAbsDiff(alone.images.data, batch.images.data.subarray(b * px, (b + 1) * px))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('keeps the blocks split when the policy routes the heads to a backend other than exact CPU attention', async () => {
    const registry = createRegistry();
    registry.register({ ...exactTestBackend, id: 'elsewhere' }); // exact, but not one the fused block may stand in for
    const ctx = {
      router: await AttentionRouter.create({ registry, policy: explicitPolicy('elsewhere') }),
      trace: new AttentionTrace(),
    };
    const r = await generateNextScale(transformer, vae, { labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 }, ctx);
    for (let si = 0; si < S; si++)
      expect(Array.from(r.tokens[si]), `scale ${si}`).toEqual(Array.from(await refIndices(`ar.cfg1p5.idx.s${si}`)));
    const blocks = ctx.trace.entries.filter((e) => e.site.startsWith('var.blocks.'));
    expect(blocks.length).toBeGreaterThanOrEqual(depth);
    expect(blocks.every((e) => e.backend === 'elsewhere' && e.fusedIn === undefined)).toBe(true);
  });
});
