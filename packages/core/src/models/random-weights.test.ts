/**
 * The public random-weight helpers: the released presets have exactly the spec's key counts and
 * parameter counts (docs/var-port.md §6–§7), computed from the shapes without
 * producing any data; the lazy entries are order-independent; VAR's own init (§2.5) is applied; and a
 * small random pipeline loads both in memory and from streamed safetensors files.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { VARModel } from '../pipeline/var-model.js';
import { loadVAR } from '../pipeline/load-var.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { writeSafetensors } from '../weights/safetensors-writer.js';
import { loadStateDict } from '../weights/load.js';
import { useTempDir } from '../weights/tmpdir.test-support.js';
import {
  countStateDict,
  randomVARStateDict,
  randomVARStateDictEntries,
  randomVQVAEStateDict,
  randomVQVAEStateDictEntries,
  releasedVARSpec,
  releasedVQVAEConfig,
  type RandomVARSpec,
} from './random-weights.js';
import { expectedVARShapes, inferVARConfig } from './var/config.js';
import type { VQVAEConfig } from './vqvae/config.js';

describe('released presets (counted from shapes, no data produced)', () => {
  it('d16: 220 entries, 310,283,520 parameters, Appendix C shapes and order', () => {
    const before = process.memoryUsage().arrayBuffers;
    const entries = randomVARStateDictEntries(releasedVARSpec(16));
    const counts = countStateDict(entries);
    // 1.24 GB of float32 would show up here had any tensor been produced.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
    expect(counts.entries).toBe(220);
    expect(counts.parameters).toBe(310_283_520);
    // Buffers: lvl_1L (680), attn_bias_for_masking (680²), 16 × zero_k_bias (1024).
    expect(counts.bufferElements).toBe(680 + 680 * 680 + 16 * 1024);
    expect(counts.bytes).toBe((310_283_520 + 680 * 680 + 16 * 1024) * 4 + 680 * 8);
    const shapes = new Map(entries.map((e) => [e.name, e.shape]));
    expect(entries.slice(0, 25).map((e) => `${e.name} [${e.shape.join(', ')}]`)).toEqual([
      'pos_start [1, 1, 1024]',
      'pos_1LC [1, 680, 1024]',
      'lvl_1L [1, 680]',
      'attn_bias_for_masking [1, 1, 680, 680]',
      'word_embed.weight [1024, 32]',
      'word_embed.bias [1024]',
      'class_emb.weight [1001, 1024]',
      'lvl_embed.weight [10, 1024]',
      'blocks.0.attn.scale_mul_1H11 [1, 16, 1, 1]',
      'blocks.0.attn.q_bias [1024]',
      'blocks.0.attn.v_bias [1024]',
      'blocks.0.attn.zero_k_bias [1024]',
      'blocks.0.attn.mat_qkv.weight [3072, 1024]',
      'blocks.0.attn.proj.weight [1024, 1024]',
      'blocks.0.attn.proj.bias [1024]',
      'blocks.0.ffn.fc1.weight [4096, 1024]',
      'blocks.0.ffn.fc1.bias [4096]',
      'blocks.0.ffn.fc2.weight [1024, 4096]',
      'blocks.0.ffn.fc2.bias [1024]',
      'blocks.0.ada_lin.1.weight [6144, 1024]',
      'blocks.0.ada_lin.1.bias [6144]',
      'blocks.1.attn.scale_mul_1H11 [1, 16, 1, 1]',
      'blocks.1.attn.q_bias [1024]',
      'blocks.1.attn.v_bias [1024]',
      'blocks.1.attn.zero_k_bias [1024]',
    ]);
    expect(entries.slice(-4).map((e) => `${e.name} [${e.shape.join(', ')}]`)).toEqual([
      'head_nm.ada_lin.1.weight [2048, 1024]',
      'head_nm.ada_lin.1.bias [2048]',
      'head.weight [4096, 1024]',
      'head.bias [4096]',
    ]);
    expect(entries.find((e) => e.name === 'lvl_1L')!.dtype).toBe('I64');
    expect(entries.filter((e) => e.dtype === 'I64').length).toBe(1);
    expect(shapes.size).toBe(220);
  });

  it.each([
    [20, 272, 600_917_136],
    [24, 324, 1_033_399_360],
    [30, 402, 2_010_020_356],
    [36, 446, 2_353_893_904],
  ])('d%i: %i entries, %i parameters (§3, §4.2)', (depth, n, params) => {
    const counts = countStateDict(randomVARStateDictEntries(releasedVARSpec(depth)));
    expect(counts.entries).toBe(n);
    expect(counts.parameters).toBe(params);
  });

  it('the d16 preset has the shape-derived config of the released model', () => {
    const spec = releasedVARSpec(16);
    expect(spec).toMatchObject({
      depth: 16,
      C: 1024,
      heads: 16,
      cvae: 32,
      vocab: 4096,
      numClasses: 1000,
      mlpHidden: 4096,
      sharedAdaLN: false,
      l2Norm: true,
    });
    expect(spec.patchNums).toEqual([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]);
    expect(spec.scaleMul).toBeCloseTo(Math.log(4), 15);
  });

  it('vae_ch160v4096z32: 324 entries, 108,948,355 parameters, Appendix B endpoints', () => {
    const before = process.memoryUsage().arrayBuffers;
    const entries = randomVQVAEStateDictEntries(releasedVQVAEConfig());
    const counts = countStateDict(entries);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
    expect(counts.entries).toBe(324);
    expect(counts.parameters).toBe(108_948_355);
    expect(counts.bufferElements).toBe(10 * 4096); // quantize.ema_vocab_hit_SV
    const shape = (name: string) => entries.find((e) => e.name === name)?.shape;
    expect(entries[0].name).toBe('encoder.conv_in.weight');
    expect(shape('encoder.conv_in.weight')).toEqual([160, 3, 3, 3]);
    expect(shape('encoder.down.4.attn.0.qkv.weight')).toEqual([1920, 640, 1, 1]);
    expect(shape('decoder.up.1.block.0.nin_shortcut.weight')).toEqual([160, 320, 1, 1]);
    expect(shape('quantize.embedding.weight')).toEqual([4096, 32]);
    expect(entries[entries.length - 1].name).toBe('post_quant_conv.bias');
  });
});

const small: RandomVARSpec = {
  depth: 2,
  C: 32,
  heads: 2,
  cvae: 4,
  vocab: 16,
  numClasses: 3,
  mlpHidden: 64,
  patchNums: [1, 2, 3, 4],
  sharedAdaLN: false,
  l2Norm: true,
};
const smallVAE: VQVAEConfig = {
  vocabSize: 16,
  Cvae: 4,
  ch: 32,
  chMult: [1, 2],
  numResBlocks: 1,
  usingSa: true,
  usingMidSa: true,
  shareQuantResi: 4,
  numPhi: 4,
  quantResi: 0.5,
  numScales: 4,
  inChannels: 3,
};

describe('lazy entries', () => {
  it('a tensor’s values do not depend on the order of production, and follow the seed', () => {
    const a = randomVARStateDictEntries(small, 3);
    const b = randomVARStateDictEntries(small, 3);
    const key = 'blocks.1.ffn.fc1.weight';
    const late = b.find((e) => e.name === key)!.data(); // produced first here, after every other tensor there
    const eager = randomVARStateDict(small, 3);
    expect(Array.from(late)).toEqual(Array.from(eager.get(key)!.data));
    expect(Array.from(a.find((e) => e.name === key)!.data())).toEqual(Array.from(late));
    expect(Array.from(randomVARStateDict(small, 4).get(key)!.data)).not.toEqual(Array.from(late));
    // Two tensors of one state dict are not the same stream.
    expect(Array.from(eager.get('blocks.0.ffn.fc1.weight')!.data)).not.toEqual(Array.from(late));
  });

  it('the masking buffer and lvl_1L follow the schedule', () => {
    const sd = randomVARStateDict(small);
    expect(Array.from(sd.get('lvl_1L')!.data)).toEqual([0, 1, 1, 1, 1, ...Array(9).fill(2), ...Array(16).fill(3)]);
    const m = sd.get('attn_bias_for_masking')!.data;
    expect(m[1 * 30 + 0]).toBe(0); // scale 1 sees scale 0
    expect(m[0 * 30 + 1]).toBe(-Infinity); // scale 0 does not see scale 1
    expect(m[4 * 30 + 1]).toBe(0); // same scale
  });
});

describe("init: 'var' (§2.5)", () => {
  const spec: RandomVARSpec = { ...small, C: 64, init: 'var' };
  const sd = randomVARStateDict(spec);
  const C = spec.C;
  const std = Math.sqrt(1 / (3 * C));
  const rms = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0) / a.length);
  const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

  it('scale_mul = ln 4, biases 0, trunc-normal weights of std √(1/(3C))', () => {
    expect(Array.from(sd.get('blocks.0.attn.scale_mul_1H11')!.data)).toEqual(
      Array(spec.heads).fill(Math.fround(Math.log(4))),
    );
    for (const k of [
      'blocks.0.attn.q_bias',
      'blocks.1.attn.v_bias',
      'blocks.0.ffn.fc1.bias',
      'head.bias',
      'blocks.1.ada_lin.1.bias',
    ])
      expect(maxAbs(sd.get(k)!.data), k).toBe(0);
    expect(rms(sd.get('blocks.0.attn.mat_qkv.weight')!.data) / std).toBeCloseTo(1, 1);
    expect(rms(sd.get('pos_1LC')!.data) / std).toBeCloseTo(1, 1);
  });

  it('head ×0.02, residual projections /√(2·depth), AdaLN gates ×1e-5 and the rest ×0.5', () => {
    expect(rms(sd.get('head.weight')!.data) / (0.02 * std)).toBeCloseTo(1, 1);
    expect(rms(sd.get('blocks.1.ffn.fc2.weight')!.data) / (std / Math.sqrt(2 * spec.depth))).toBeCloseTo(1, 1);
    const ada = sd.get('blocks.0.ada_lin.1.weight')!.data;
    expect(maxAbs(ada.subarray(0, 2 * C * C))).toBeLessThan(1e-5 * 5 * std);
    expect(rms(ada.subarray(2 * C * C)) / (0.5 * std)).toBeCloseTo(1, 1);
  });
});

describe('a small random pipeline', () => {
  const file = useTempDir();
  let model: VARModel | undefined;
  afterAll(() => model?.dispose());

  it('loads with VARModel.fromStateDicts and generates', async () => {
    model = await VARModel.fromStateDicts(
      { tensors: randomVARStateDict(small), metadata: { patch_nums: JSON.stringify(small.patchNums) } },
      { tensors: randomVQVAEStateDict(smallVAE) },
      { registry: createExactTestRegistry() },
    );
    expect(model.config).toMatchObject({
      depth: 2,
      embedDim: 32,
      numHeads: 2,
      headDim: 16,
      vocabSize: 16,
      numClasses: 3,
      attnL2Norm: true,
      tokenCount: 30,
    });
    const out = await model.generate({ labels: [1], seed: 0 });
    expect(out.tokens.map((t) => t.length)).toEqual([1, 4, 9, 16]);
    expect(out.images.shape).toEqual([1, 3, 8, 8]);
    expect(out.images.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('the key sets equal the loader’s expected tables (written independently)', () => {
    const sd = randomVARStateDict(small);
    const expected = expectedVARShapes(inferVARConfig({ tensors: sd }, { patchNums: small.patchNums }));
    expect([...sd.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, s] of expected) expect(sd.get(k)!.shape, k).toEqual(s);
  });

  it('streams to safetensors (lvl_1L as int64) and loads with loadVAR', async () => {
    const varPath = file('var.safetensors');
    const vaePath = file('vae.safetensors');
    await writeSafetensors(varPath, randomVARStateDictEntries(small), { patch_nums: JSON.stringify(small.patchNums) });
    await writeSafetensors(vaePath, randomVQVAEStateDictEntries(smallVAE));
    const back = await loadStateDict(varPath);
    expect(back.dtypes.get('lvl_1L')).toBe('I64');
    expect(Array.from(back.tensors.get('head.weight')!.data)).toEqual(
      Array.from(randomVARStateDict(small).get('head.weight')!.data),
    );
    const loaded = await loadVAR({ var: varPath, vae: vaePath, registry: createExactTestRegistry() });
    try {
      expect(loaded.config.patchNumsSource).toBe('metadata');
      expect(loaded.config.tokenCount).toBe(30);
    } finally {
      await loaded.dispose();
    }
  });
});
