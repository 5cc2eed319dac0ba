import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catalogue,
  checkLoadedModel,
  ensureModel,
  findModel,
  HubError,
  modelCacheState,
  RELEASED_MODELS,
  removeModel,
  type HubSettings,
} from './index.js';
import { startLoopbackHub, type LoopbackHub } from './testing/index.js';

const REPO = 'FoundationVision/var';
const bytes = (n: number, k: number) => new Uint8Array(n).map((_, i) => (i * k) & 255);
let hub: LoopbackHub;
let dir: string;

beforeAll(async () => {
  hub = await startLoopbackHub({
    files: [
      { repo: REPO, file: 'var_d16.pth', data: bytes(1000, 7) },
      { repo: REPO, file: 'var_d20.pth', data: bytes(2000, 11) },
      { repo: REPO, file: 'vae_ch160v4096z32.pth', data: bytes(500, 13) },
    ],
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-models-'));
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the catalogue', () => {
  it('names the released checkpoints of FoundationVision/var, d36 at 512 px with shared AdaLN', () => {
    expect(RELEASED_MODELS.map((m) => m.name)).toEqual(['var-d16', 'var-d20', 'var-d24', 'var-d30', 'var-d36']);
    for (const m of RELEASED_MODELS) {
      expect(m.repo).toBe(REPO);
      expect(m.files).toEqual({ var: `var_d${m.depth}.pth`, vae: 'vae_ch160v4096z32.pth' });
    }
    const d36 = findModel('var-d36', RELEASED_MODELS);
    expect(d36).toMatchObject({ resolution: 512, sharedAdaLN: true, patchNums: [1, 2, 3, 4, 6, 9, 13, 18, 24, 32] });
    expect(findModel('var-d30', RELEASED_MODELS)).toMatchObject({
      resolution: 256,
      sharedAdaLN: false,
      patchNums: [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
    });
  });

  it('refuses a loaded checkpoint that is not the model its name promises', () => {
    const d16 = findModel('var-d16', RELEASED_MODELS);
    expect(() => checkLoadedModel(d16, { depth: 16, patchNums: d16.patchNums, sharedAdaLN: false })).not.toThrow();
    expect(() => checkLoadedModel(d16, { depth: 2, patchNums: [1, 2], sharedAdaLN: false })).toThrow(
      /var_d16\.pth from FoundationVision\/var@main is not var-d16: it has depth 2, not 16, patch_nums 1,2, not/,
    );
    expect(() =>
      checkLoadedModel(findModel('var-d36', RELEASED_MODELS), {
        depth: 36,
        patchNums: [1, 2, 3, 4, 6, 9, 13, 18, 24, 32],
        sharedAdaLN: false,
      }),
    ).toThrow(/per-block AdaLN/);
  });

  it('an unknown name lists the known ones', () => {
    expect(() => findModel('var-d99', RELEASED_MODELS)).toThrow(/no model named 'var-d99'/);
  });

  it('NEXTSCALE_MODELS_FILE adds or replaces names, marked with their source; a file name with .. is refused', () => {
    const file = path.join(dir, 'models.json');
    writeFileSync(
      file,
      JSON.stringify([{ name: 'var-d16', repo: 'test/tiny', files: { var: 'var.pth', vae: 'vae.pth' }, depth: 2 }]),
    );
    const models = catalogue({ NEXTSCALE_MODELS_FILE: file });
    expect(models).toHaveLength(5);
    expect(findModel('var-d16', models)).toMatchObject({ repo: 'test/tiny', depth: 2, source: file });
    expect(findModel('var-d20', models).source).toBe('built-in');
    writeFileSync(
      file,
      JSON.stringify([{ name: 'evil', repo: 'test/tiny', files: { var: '../../var.pth', vae: 'vae.pth' } }]),
    );
    expect(() => catalogue({ NEXTSCALE_MODELS_FILE: file })).toThrow(HubError);
    expect(() => catalogue({ NEXTSCALE_MODELS_FILE: file })).toThrow(/refusing file name '..\/..\/var.pth'/);
  });
});

describe('models in the cache', () => {
  it('fetches both files, lists them as cached, and removes the VQ-VAE only when no other cached model shares it', async () => {
    const settings: HubSettings = {
      endpoint: hub.url,
      offline: false,
      cacheDir: path.join(dir, 'hub'),
      stallTimeoutMs: 2000,
    };
    const d16 = findModel('var-d16', RELEASED_MODELS);
    const d20 = findModel('var-d20', RELEASED_MODELS);
    expect(modelCacheState(d16, settings.cacheDir).cached).toBe(false);
    const a = await ensureModel(d16, { settings });
    await ensureModel(d20, { settings });
    expect(a.var.bytes).toBe(1000);
    expect(a.vae.bytes).toBe(500);
    const state = modelCacheState(d16, settings.cacheDir);
    expect(state.cached).toBe(true);
    expect(state.files.var?.path).toBe(a.var.path);

    const r16 = await removeModel(d16, RELEASED_MODELS, settings.cacheDir);
    expect(r16).toEqual({ bytes: 1000, removed: ['var_d16.pth'], kept: ['vae_ch160v4096z32.pth (used by var-d20)'] });
    expect(existsSync(a.var.path)).toBe(false);
    expect(existsSync(a.vae.path)).toBe(true);
    const r20 = await removeModel(d20, RELEASED_MODELS, settings.cacheDir);
    expect(r20.removed).toEqual(['var_d20.pth', 'vae_ch160v4096z32.pth']);
    expect(r20.bytes).toBe(2500);
    expect(existsSync(a.vae.path)).toBe(false);
  });
});
