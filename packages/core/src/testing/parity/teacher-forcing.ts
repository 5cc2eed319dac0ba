/**
 * Teacher forcing against the released PyTorch VAR on the tiny fixture (refs.safetensors, group tf.*),
 * loading the transformer from both checkpoint formats.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../tensor.js';
import { loadStateDict } from '../../weights/index.js';
import {
  CONFIG,
  exactContext,
  fixture,
  maxAbsDiff,
  ref,
  TINY_PATCH_NUMS,
  VAR_FILES,
} from '../../models/var/test-support.js';
import { VARTransformer } from '../../models/var/var-transformer.js';

const ATOL = 1e-4;
const worst: Record<string, number> = {};
afterAll(() => console.log('tf.* max |diff| (both files):', JSON.stringify(worst)));

const groups = ['word_embed', 'block0.x_in', 'cond_BD_or_gss', 'head_nm', 'logits'];
for (let b = 0; b < CONFIG.var.depth; b++)
  groups.push(`block${b}.ada_lin`, `block${b}.attn_out`, `block${b}.ffn_out`, `block${b}.out`);
groups.push('block0.q', 'block0.k', 'block0.v', 'block0.attn_core');

describe.each(VAR_FILES)('teacher forcing from %s', (file) => {
  const run = (async () => {
    const transformer = VARTransformer.fromStateDict(await loadStateDict(fixture(file)), {
      patchNums: TINY_PATCH_NUMS,
    });
    const captured = new Map<string, Tensor>();
    const ctx = await exactContext(captured);
    const labels = Array.from((await ref('tf.label')).data);
    const logits = await transformer.forward(labels, await ref('tf.x_BLCv_wo_first_l'), ctx);
    return { logits, captured, ctx };
  })();

  it.each(groups)('tf.%s', async (name) => {
    const { captured } = await run;
    const got = captured.get(name);
    const expected = await ref(`tf.${name}`);
    expect(got, `captured ${name}`).toBeDefined();
    expect(got!.data.length).toBe(expected.data.length);
    const d = maxAbsDiff(got!.data, expected.data);
    worst[name] = Math.max(worst[name] ?? 0, d);
    expect(d).toBeLessThanOrEqual(ATOL);
  });

  it('returns the logits (B, L, V) and routes every block through the router', async () => {
    const { logits, ctx } = await run;
    expect(logits.shape).toEqual([2, 30, CONFIG.vae.vocab_size]);
    expect(maxAbsDiff(logits.data, (await ref('tf.logits')).data)).toBeLessThanOrEqual(ATOL);
    const sites = ctx.trace.entries.map((e) => e.site);
    expect(sites).toEqual(['var.blocks.0.attn', 'var.blocks.1.attn']);
    expect(ctx.trace.entries.every((e) => e.backend === 'exact-test')).toBe(true);
  });
});
