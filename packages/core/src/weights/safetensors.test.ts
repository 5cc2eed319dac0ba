import { describe, expect, it } from 'vitest';
import { loadStateDict, openSafetensors } from './index.js';
import { CONFIG, fixture } from './fixture-paths.test-support.js';

const TORCH_DTYPE: Record<string, string> = { float32: 'F32', int64: 'I64' };

describe('safetensors reader on the var-tiny fixtures', () => {
  for (const model of ['var', 'vae'] as const) {
    it(`${model}.safetensors lists the official state_dict in order, with shapes and dtypes`, async () => {
      const f = await openSafetensors(fixture(`${model}.safetensors`));
      try {
        const shapes = CONFIG.state_dict_shapes[model];
        expect(f.tensors.map((t) => t.name)).toEqual(Object.keys(shapes));
        for (const t of f.tensors) {
          expect(t.shape).toEqual(shapes[t.name]);
          expect(t.dtype).toBe(TORCH_DTYPE[CONFIG.state_dict_dtypes[model][t.name]]);
        }
        expect(f.metadata.format).toBe('pt');
      } finally {
        await f.close();
      }
    });
  }

  it('loadStateDict(var.safetensors): 38 entries, I64 lvl_1L converted exactly, -inf kept', async () => {
    const sd = await loadStateDict(fixture('var.safetensors'));
    expect(sd.format).toBe('safetensors');
    expect(sd.tensors.size).toBe(38);
    expect(sd.dtypes.get('lvl_1L')).toBe('I64');
    expect(sd.dtypes.get('pos_start')).toBe('F32');
    const lvl = sd.tensors.get('lvl_1L')!;
    expect(lvl.shape).toEqual([1, 30]);
    // patch_nums (1,2,3,4): level k repeated pn² times
    expect(Array.from(lvl.data)).toEqual([0, 1, 1, 1, 1, ...Array(9).fill(2), ...Array(16).fill(3)]);
    const bias = sd.tensors.get('attn_bias_for_masking')!;
    expect(bias.shape).toEqual([1, 1, 30, 30]);
    expect(bias.data[0]).toBe(0);
    expect(bias.data[1]).toBe(-Infinity);
    expect(bias.data[29 * 30 + 29]).toBe(0);
    expect(sd.metadata.config).toBe('tiny');
    let numel = 0;
    for (const t of sd.tensors.values()) numel += t.size;
    // 165,256 parameters + buffers lvl_1L (30), the mask (900) and zero_k_bias (2·64)
    expect(numel).toBe(165_256 + 30 + 900 + 128);
  });
});
