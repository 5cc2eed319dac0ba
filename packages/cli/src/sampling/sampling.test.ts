import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '@nextscale/backend-cpu/register';
import { loadVAR } from '@nextscale/core';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePng } from '../output/png.js';
import { buildManifest, identityDifferences, readManifest, writeManifest, type SetIdentity } from './manifest.js';
import { crc32, npyHeader, writeNpzUint8 } from './npz.js';
import { chunk, imageFile, parseImageFile, planSet } from './plan.js';
import { fmix32, imageSeed } from './seeds.js';
import { SampleFolder } from './store.js';
import { DEFAULT_SAMPLE_BATCH, defaultSampleBatch } from './set.js';
import type { ModelShape } from '@nextscale/core';
import { maxLoadedImages } from '../limits/memory.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nextscale-sampling-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function python(code: string): string {
  return execFileSync('python3', ['-c', code], { encoding: 'utf8' }).trim();
}

describe('per-image seeds', () => {
  it('match the documented formula (values computed independently in Python)', () => {
    expect(fmix32(1)).toBe(1364076727);
    expect(fmix32(0x12345678)).toBe(3816608188);
    expect([
      imageSeed(0, 0, 0),
      imageSeed(0, 0, 1),
      imageSeed(0, 1, 0),
      imageSeed(1, 0, 0),
      imageSeed(4294967295, 999, 49999),
      imageSeed(7, 207, 12),
    ]).toEqual([1680814304, 4215923267, 4162723709, 3584742034, 3252844211, 2360391554]);
  });

  it('no two indices of one class share a seed', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) seen.add(imageSeed(3, 5, i));
    expect(seen.size).toBe(50_000);
  });
});

describe('the plan', () => {
  it('is class-major, its file names sort in plan order, and they parse back', () => {
    const plan = planSet([7, 2], 3, 0);
    expect(plan.map((p) => [p.cls, p.index])).toEqual([
      [7, 0],
      [7, 1],
      [7, 2],
      [2, 0],
      [2, 1],
      [2, 2],
    ]);
    const byName = planSet([2, 7, 207], 12, 0).map((p) => p.file);
    expect([...byName].sort()).toEqual(byName);
    expect(imageFile(207, 12)).toBe('0207_000012.png');
    expect(parseImageFile('0207_000012.png')).toEqual({ cls: 207, index: 12 });
    expect(parseImageFile('207_12.png')).toBeUndefined();
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('the .npz writer', () => {
  it('writes a .npy header numpy accepts, data aligned to 64 bytes', () => {
    const h = npyHeader([5, 32, 32, 3]);
    expect(h.length % 64).toBe(0);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it.each([false, true])(
    'numpy loads arr_0 as uint8 (N, H, W, 3) with the written bytes (zip64 %s)',
    async (forceZip64) => {
      const shape = [3, 4, 5, 3];
      const data = Uint8Array.from({ length: 180 }, (_, i) => (i * 37) % 256);
      const file = path.join(tmp, `a${forceZip64 ? 64 : 32}.npz`);
      await writeNpzUint8(file, shape, [data.subarray(0, 100), data.subarray(100)], { forceZip64 });
      const out = python(
        `import numpy as np; z=np.load(${JSON.stringify(file)}); a=z['arr_0']; print(list(z.keys()), a.dtype, a.shape, ','.join(map(str, a.reshape(-1)[:6])), int(a.sum()))`,
      );
      const sum = data.reduce((s, v) => s + v, 0);
      expect(out).toBe(`['arr_0'] uint8 (3, 4, 5, 3) ${Array.from(data.subarray(0, 6)).join(',')} ${sum}`);
      // same input → same bytes (fixed timestamps)
      const again = path.join(tmp, `b${forceZip64 ? 64 : 32}.npz`);
      await writeNpzUint8(again, shape, [data], { forceZip64 });
      expect(readFileSync(again).equals(readFileSync(file))).toBe(true);
    },
  );

  it('refuses a stream of the wrong length and leaves nothing behind', async () => {
    const dir = mkdtempSync(path.join(tmp, 'short-'));
    await expect(writeNpzUint8(path.join(dir, 'x.npz'), [2, 2], [new Uint8Array(3)])).rejects.toThrow(/expected 4/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

const identity = (o: Partial<SetIdentity['settings']> = {}, varSha = 'a'.repeat(64)): SetIdentity => ({
  model: {
    var: { path: '/m/var.safetensors', sha256: varSha, bytes: 1 },
    vae: { path: '/m/vae.safetensors', sha256: 'b'.repeat(64), bytes: 2 },
  },
  settings: {
    perClass: 3,
    classes: [0, 1],
    seed: 0,
    cfg: 1.5,
    topK: 900,
    topP: 0.96,
    moreSmooth: false,
    patchNums: [1, 2],
    policy: 'norm',
    backend: null,
    epsilon: null,
    ...o,
  },
});

describe('the manifest', () => {
  it('round-trips and names what differs', async () => {
    const dir = mkdtempSync(path.join(tmp, 'm-'));
    const plan = planSet([0, 1], 3, 0);
    const m = buildManifest(identity(), plan, new Set([plan[0].file]), { engine: 'wasm-pool', nextscale: '0.1.0' });
    await writeManifest(dir, m);
    const back = await readManifest(dir);
    expect(back?.done).toBe(1);
    expect(back?.images[1]).toEqual({
      file: '0000_000001.png',
      class: 0,
      index: 1,
      seed: imageSeed(0, 0, 1),
      done: false,
    });
    expect(identityDifferences(back!, identity())).toEqual([]);
    expect(identityDifferences(back!, identity({ seed: 1, cfg: 2 }, 'c'.repeat(64)))).toEqual([
      'VAR file (sha256 aaaaaaaaaaaa → cccccccccccc, var.safetensors)',
      'seed 0 → 1',
      'cfg 1.5 → 2',
    ]);
    expect(await readManifest(path.join(tmp, 'none'))).toBeUndefined();
    writeFileSync(path.join(dir, 'manifest.json'), '{"format":"other"}');
    await expect(readManifest(dir)).rejects.toThrow(/not a nextscale sample manifest/);
  });
});

describe('the sample folder', () => {
  it('stores an image once, notes finished images and removes stale temporary files on open', async () => {
    const dir = mkdtempSync(path.join(tmp, 'f-'));
    const plan = planSet([4], 2, 0);
    const px = (v: number) => ({
      width: 2,
      height: 2,
      data: Uint8Array.from([v, v, v, v + 1, v + 1, v + 1, v + 2, v + 2, v + 2, v + 3, v + 3, v + 3]),
    });
    const f = new SampleFolder(dir, 2);
    await f.open(plan, new Map());
    expect(await f.store(plan[0].file, encodePng(px(10)))).toBe(true);
    expect(await f.store(plan[0].file, encodePng(px(99)))).toBe(false);
    expect(f.duplicates).toBe(1);
    writeFileSync(path.join(dir, `.${plan[1].file}.tmp-123-abcd0123`), 'half');
    const g = new SampleFolder(dir, 2);
    await g.open(plan, new Map());
    expect([...g.done]).toEqual([plan[0].file]);
    expect(readdirSync(dir).sort()).toEqual([plan[0].file]);
    await g.store(plan[1].file, encodePng(px(20)));
    const npz = path.join(tmp, 'f.npz');
    const r = await g.writeNpz(npz, plan);
    expect(r.shape).toEqual([2, 2, 2, 3]);
    expect(
      python(`import numpy as np; a=np.load(${JSON.stringify(npz)})['arr_0']; print(a.dtype, a.reshape(-1).tolist())`),
    ).toBe('uint8 [10, 10, 10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 20, 20, 20, 21, 21, 21, 22, 22, 22, 23, 23, 23]');
  });

  it('a folder that cannot be made is one usage line', async () => {
    // under a regular file: refused for every user, root included
    const file = path.join(tmp, 'plain-file');
    writeFileSync(file, 'x');
    const f = new SampleFolder(path.join(file, 'set'), 2);
    await expect(f.open(planSet([0], 1, 0), new Map())).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringMatching(/cannot write .*plain-file\/set/),
    });
  });
});

describe('per-image seeds in core (shipped model, the default engine)', () => {
  it("an image's tokens and pixels at batch 1 equal those at batch 4 with the same seed", async () => {
    const dir = path.resolve(__dirname, '../../assets/fashion-mnist');
    const model = await loadVAR({ var: path.join(dir, 'var.safetensors'), vae: path.join(dir, 'vae.safetensors') });
    try {
      const plan = planSet([0, 5], 2, 3); // 4 images, two classes
      const all = await model.generate({ labels: plan.map((p) => p.cls), seeds: plan.map((p) => p.seed) });
      const n = all.images.data.length / 4;
      const distinct = new Set<string>();
      for (let b = 0; b < 4; b++) {
        const one = await model.generate({ labels: [plan[b].cls], seeds: [plan[b].seed] });
        expect(
          Buffer.from(one.images.data.buffer).equals(Buffer.from(all.images.data.buffer, b * n * 4, n * 4)),
          `image ${b}`,
        ).toBe(true);
        one.tokens.forEach((t, s) =>
          expect(Array.from(t)).toEqual(Array.from(all.tokens[s].subarray(b * t.length, (b + 1) * t.length))),
        );
        distinct.add(Array.from(one.tokens.at(-1)!).join(','));
      }
      expect(distinct.size).toBe(4); // the seeds do differ
      await expect(model.generate({ labels: [0, 1], seeds: [1] })).rejects.toThrow(/one entry per label/);
    } finally {
      await model.dispose();
    }
  });
});

describe("sample's default batch", () => {
  const d16: ModelShape = {
    depth: 16,
    embedDim: 1024,
    numHeads: 16,
    vocabSize: 4096,
    mlpHidden: 4096,
    patchNums: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
    vaeCh: 160,
    vaeChMult: [1, 1, 2, 2, 4],
  };
  const GiB = 2 ** 30;

  it('is 8 images where 8 fit, and the most that fit where fewer do', () => {
    expect(defaultSampleBatch(d16, true, { bytes: 1022 * GiB, source: 'test' })).toBe(DEFAULT_SAMPLE_BATCH);
    expect(DEFAULT_SAMPLE_BATCH).toBe(8);
    const twoGiB = { bytes: 2 * GiB, source: 'test' };
    const tight = defaultSampleBatch(d16, true, twoGiB);
    expect(tight).toBeGreaterThanOrEqual(1);
    expect(tight).toBeLessThan(8);
    expect(tight).toBe(Math.max(1, maxLoadedImages(d16, true, twoGiB)));
  });
});
