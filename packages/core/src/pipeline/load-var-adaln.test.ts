// loadVAR from a path leaves the AdaLN weights in the checkpoint and reads them at each generation
// (models/var/adaln-weights.ts): same tokens and images as holding them, a changed file refused, the file closed.
import { existsSync, readdirSync, readFileSync, readlinkSync, utimesSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { fixture, REFS_JSON, TINY_PATCH_NUMS } from '../models/var/test-support.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { openWeights, writeSafetensors } from '../weights/index.js';
import { useTempDir } from '../weights/tmpdir.test-support.js';
import { loadVAR } from './load-var.js';
import type { VARModel } from './var-model.js';

const temp = useTempDir();
const registry = createExactTestRegistry();
const labels = REFS_JSON.info['ar.labels'] as number[];
const GREEDY = { labels, cfg: 1.5, topK: 1, topP: 0, seed: 0 };
const load = (varFile: string | Uint8Array, streamAdaLN?: boolean) =>
  loadVAR({ var: varFile, vae: fixture('vae.safetensors'), patchNums: TINY_PATCH_NUMS, registry, streamAdaLN });

/** A copy of the tiny VAR checkpoint, with `change` applied to its float32 tensors. */
async function copyOfTinyVAR(name: string, change?: (tensor: string, data: Float32Array) => void): Promise<string> {
  const path = temp(name);
  const source = await openWeights(fixture('var.safetensors'));
  const entries = await Promise.all(
    source.tensors.map(async (t) => {
      if (t.dtype !== 'F32') return { ...t, data: await source.readBytes(t.name) };
      const data = await source.read(t.name);
      change?.(t.name, data);
      return { ...t, data };
    }),
  );
  await source.close();
  await writeSafetensors(path, entries);
  return path;
}

/** How many of this process's descriptors are open on `path` (Linux's /proc). */
const openDescriptors = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

const ADALN = ['blocks.0.ada_lin.1.weight', 'blocks.1.ada_lin.1.weight', 'head_nm.ada_lin.1.weight'];

describe('loadVAR streams the AdaLN weights from a checkpoint path', () => {
  const models: VARModel[] = [];
  afterAll(() => Promise.all(models.map((m) => m.dispose())));

  it('holds no AdaLN weight matrix when loaded from a path, all of them with streamAdaLN: false or from bytes', async () => {
    const streamed = await load(fixture('var.safetensors'));
    const held = await load(fixture('var.safetensors'), false);
    const fromBytes = await load(new Uint8Array(readFileSync(fixture('var.safetensors'))));
    models.push(streamed, held, fromBytes);
    const adaLN = (m: VARModel) => [
      ...m.transformer.weights.blocks.map((b) => b.adaLinWeight!),
      m.transformer.weights.headNmWeight,
    ];
    expect(adaLN(streamed).map((t) => t.data.length)).toEqual([0, 0, 0]);
    for (const m of [held, fromBytes])
      expect(adaLN(m).map((t) => t.data.length)).toEqual(adaLN(m).map((t) => t.shape[0] * t.shape[1]));
    // the biases stay in memory either way
    expect(streamed.transformer.weights.blocks[0].adaLinBias!.data.length).toBe(6 * streamed.config.embedDim);
  });

  it('generates the same tokens and images as with the weights held, twice in a row', async () => {
    const streamed = await load(fixture('var.safetensors'));
    const held = await load(fixture('var.safetensors'), false);
    models.push(streamed, held);
    const want = await held.generate(GREEDY);
    for (let run = 0; run < 2; run++) {
      const got = await streamed.generate(GREEDY);
      expect(got.tokens.map((t) => Array.from(t))).toEqual(want.tokens.map((t) => Array.from(t)));
      expect(Array.from(got.images.data)).toEqual(Array.from(want.images.data));
    }
  });

  it('refuses to generate once the checkpoint changed on disk, naming it', async () => {
    const path = await copyOfTinyVAR('changed.safetensors');
    const model = await load(path);
    models.push(model);
    await model.generate(GREEDY);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const err = await model.generate(GREEDY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect(String((err as Error).message)).toMatch(/changed\.safetensors.*changed on disk.*load the model again/);
  });

  it('refuses a non-finite value in a streamed weight at load time, naming the tensor', async () => {
    const path = await copyOfTinyVAR('nan.safetensors', (name, data) => {
      if (name === 'blocks.1.ada_lin.1.weight') data[5] = Number.NaN;
    });
    const err = await load(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect(String((err as Error).message)).toMatch(/'blocks\.1\.ada_lin\.1\.weight' holds 1 non-finite value/);
  });

  it.runIf(existsSync('/proc/self/fd'))(
    'keeps the checkpoint open while the model lives and closes it on dispose or a failed load',
    async () => {
      const path = await copyOfTinyVAR('open.safetensors');
      const model = await load(path);
      expect(openDescriptors(path)).toBe(1);
      await model.dispose();
      expect(openDescriptors(path)).toBe(0);
      const nan = await copyOfTinyVAR('nan-closed.safetensors', (name, data) => {
        if (name === ADALN[2]) data[0] = Number.POSITIVE_INFINITY;
      });
      await expect(load(nan)).rejects.toThrow(WeightsError);
      expect(openDescriptors(nan)).toBe(0);
    },
  );
});
