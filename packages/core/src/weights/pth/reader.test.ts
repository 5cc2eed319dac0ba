import { describe, expect, it } from 'vitest';
import { inspectWeights, loadStateDict, openPth, openWeights } from '../index.js';
import { fixture } from '../fixture-paths.test-support.js';

describe('.pth reader on the var-tiny fixtures', () => {
  for (const model of ['var', 'vae'] as const) {
    it(`${model}.pth gives exactly the tensors of ${model}.safetensors`, async () => {
      const pth = await loadStateDict(fixture(`${model}.pth`));
      const st = await loadStateDict(fixture(`${model}.safetensors`));
      expect(pth.format).toBe('pth');
      expect(pth.metadata).toEqual({});
      expect([...pth.tensors.keys()]).toEqual([...st.tensors.keys()]);
      expect([...pth.dtypes]).toEqual([...st.dtypes]);
      for (const [name, t] of st.tensors) {
        const p = pth.tensors.get(name)!;
        expect(p.shape, name).toEqual(t.shape);
        // Bitwise equality (Object.is semantics also pins -inf and -0).
        expect(
          Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).equals(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          ),
          name,
        ).toBe(true);
      }
    });
  }

  it('finds the archive folder without assuming its name and reads raw bytes', async () => {
    const f = await openPth(fixture('var.pth'));
    try {
      expect(f.prefix).toBe('var/');
      const lvl = f.info('lvl_1L')!;
      expect(lvl).toEqual({ name: 'lvl_1L', dtype: 'I64', shape: [1, 30] });
      const raw = await f.readBytes('lvl_1L');
      expect(raw.byteLength).toBe(240);
      expect(new BigInt64Array(raw.buffer, raw.byteOffset, 30)[29]).toBe(3n);
    } finally {
      await f.close();
    }
  });

  it('openWeights sniffs the format from the bytes', async () => {
    const a = await openWeights(fixture('vae.pth'));
    const b = await openWeights(fixture('vae.safetensors'));
    expect(a.format).toBe('pth');
    expect(b.format).toBe('safetensors');
    expect(a.tensors).toEqual(b.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
    await a.close();
    await b.close();
  });

  it('inspectWeights lists both formats identically without reading data', async () => {
    const a = await inspectWeights(fixture('var.pth'));
    const b = await inspectWeights(fixture('var.safetensors'));
    expect(a.format).toBe('pth');
    expect(a.tensors).toEqual(b.tensors);
    expect(b.totalNumel).toBe(165_256 + 30 + 900 + 128);
    expect(b.metadata.config).toBe('tiny');
    expect(b.tensors.find((t) => t.name === 'lvl_1L')).toEqual({
      name: 'lvl_1L',
      dtype: 'I64',
      shape: [1, 30],
      numel: 30,
      byteLength: 240,
    });
  });
});
