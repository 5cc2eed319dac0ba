/**
 * loadVAR refuses what would otherwise produce garbage or waste minutes: non-finite weights in either
 * model (by tensor name, with the count), a non-finite attention scale (a weights error, not an
 * internal one), and a wrong key set, found from the header before any tensor data is read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { fixture, TINY_PATCH_NUMS } from '../models/var/test-support.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { loadStateDict, writeSafetensors, type SafetensorsEntry } from '../weights/index.js';
import { buildCheckpoint, stateDictPickle, type TensorSpec } from '../weights/pth/test-support.js';
import { loadVAR } from './load-var.js';

const dir = mkdtempSync(join(tmpdir(), 'nextscale-loadvar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const registry = createExactTestRegistry();

/** The fixture's state dict with `edit` applied to a copy of one tensor, written as safetensors. */
async function variant(model: 'var' | 'vae', name: string, edit: (data: Float32Array) => void): Promise<string> {
  const sd = await loadStateDict(fixture(`${model}.safetensors`));
  const entries: SafetensorsEntry[] = [...sd.tensors].map(([k, t]) => {
    const data = Float32Array.from(t.data);
    if (k === name) edit(data);
    return { name: k, dtype: 'F32', shape: t.shape, data };
  });
  const out = join(dir, `${model}-${name}-${Math.random().toString(36).slice(2)}.safetensors`);
  await writeSafetensors(out, entries, sd.metadata);
  return out;
}

async function loadError(o: { var?: string; vae?: string }): Promise<WeightsError> {
  const err = await loadVAR({
    var: o.var ?? fixture('var.safetensors'),
    vae: o.vae ?? fixture('vae.safetensors'),
    patchNums: TINY_PATCH_NUMS,
    registry,
  }).then(
    async (m) => {
      await m.dispose();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WeightsError);
  expect((err as Error).message).not.toContain('\n');
  return err as WeightsError;
}

describe('loadVAR and non-finite weights', () => {
  it('refuses NaN in a VAR weight, naming the tensor and the count', async () => {
    const path = await variant('var', 'blocks.1.ffn.fc1.weight', (d) => {
      d[3] = NaN;
      d[7] = NaN;
    });
    const err = await loadError({ var: path });
    expect(err.file).toBe(path);
    expect(err.message).toMatch(
      /tensor 'blocks\.1\.ffn\.fc1\.weight' holds 2 non-finite values of \d+ \(2 NaN; the first at index 3\)/,
    );
  });
  it('refuses +Inf in a VQ-VAE weight', async () => {
    const path = await variant('vae', 'decoder.conv_out.weight', (d) => {
      d[0] = Infinity;
    });
    expect((await loadError({ vae: path })).message).toMatch(
      /tensor 'decoder\.conv_out\.weight' holds 1 non-finite value of \d+ \(1 \+Inf/,
    );
  });
  it('refuses a non-finite attention scale (scale_mul) as a weights error naming it', async () => {
    const path = await variant('var', 'blocks.0.attn.scale_mul_1H11', (d) => {
      d[1] = NaN;
    });
    expect((await loadError({ var: path })).message).toMatch(
      /tensor 'blocks\.0\.attn\.scale_mul_1H11' holds 1 non-finite value of 4/,
    );
  });
  it("keeps the mask buffer's −Inf (the fixture itself loads)", async () => {
    const m = await loadVAR({
      var: fixture('var.safetensors'),
      vae: fixture('vae.safetensors'),
      patchNums: TINY_PATCH_NUMS,
      registry,
    });
    await m.dispose();
  });
});

describe('loadVAR checks the key set from the index first', () => {
  it('reports an unexpected key without reading tensor data (a broken member is never reached)', async () => {
    // A .pth of the fixture's VAR plus one extra tensor, whose storage members' local headers are all
    // damaged: reading any tensor's data would fail with "bad local header", so the key error proves
    // that nothing was read before it (lvl_1L aside, which the config inference reads).
    const sd = await loadStateDict(fixture('var.safetensors'));
    const specs: TensorSpec[] = [];
    const storages: Record<string, Uint8Array> = {};
    let key = 0;
    for (const [name, t] of [
      ...sd.tensors,
      ['extra.weight', { shape: [2], data: Float32Array.from([1, 2]) }] as const,
    ]) {
      const k = String(key++);
      const data =
        name === 'lvl_1L'
          ? new Uint8Array(BigInt64Array.from(Array.from(t.data, BigInt)).buffer)
          : new Uint8Array(Float32Array.from(t.data).buffer);
      specs.push({
        name,
        storageType: name === 'lvl_1L' ? 'LongStorage' : 'FloatStorage',
        storageKey: k,
        storageNumel: t.data.length,
        offset: 0,
        shape: [...t.shape],
        stride: strides(t.shape),
      });
      storages[k] = data;
    }
    const bytes = Buffer.from(buildCheckpoint('archive', stateDictPickle(specs), storages));
    const lvlKey = specs.find((s) => s.name === 'lvl_1L')!.storageKey;
    for (const s of specs) {
      if (s.storageKey === lvlKey) continue;
      const at = bytes.indexOf(Buffer.from(`archive/data/${s.storageKey}`));
      // The first occurrence of the name is in its local header, 30 bytes after the signature.
      if (bytes.readUInt32LE(at - 30) === 0x04034b50) bytes[at - 30] = 0;
    }
    const path = join(dir, 'extra.pth');
    writeFileSync(path, bytes);
    await expect(loadStateDict(path)).rejects.toThrow(/bad local header/);
    const err = await loadError({ var: path });
    expect(err.message).toMatch(/state dict does not match the inferred VAR .*unexpected extra\.weight/);
  });
});

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}
