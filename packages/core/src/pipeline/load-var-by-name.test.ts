/** loadVAR({ model }): a name from @nextscale/hub's catalogue, served by the loopback hub (no internet). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackHub, type LoopbackHub } from '@nextscale/hub/testing';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { fixture } from '../models/var/test-support.js';
import { loadVAR } from './load-var.js';

const registry = createExactTestRegistry();
const KEYS = ['HF_ENDPOINT', 'HF_HUB_CACHE', 'HF_HUB_OFFLINE', 'NEXTSCALE_MODELS_FILE'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
let hub: LoopbackHub;
let dir: string;

beforeAll(async () => {
  hub = await startLoopbackHub({
    files: [
      { repo: 'test/tiny', file: 'var.pth', data: readFileSync(fixture('var.pth')) },
      { repo: 'test/tiny', file: 'vae.pth', data: readFileSync(fixture('vae.pth')) },
    ],
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-by-name-'));
  const models = path.join(dir, 'models.json');
  const tiny = { repo: 'test/tiny', files: { var: 'var.pth', vae: 'vae.pth' }, patchNums: [1, 2, 3, 4] };
  writeFileSync(
    models,
    JSON.stringify([
      { name: 'tiny', depth: 2, ...tiny },
      { name: 'tiny-claims-d16', depth: 16, ...tiny },
    ]),
  );
  Object.assign(process.env, {
    HF_ENDPOINT: hub.url,
    HF_HUB_CACHE: path.join(dir, 'hub'),
    NEXTSCALE_MODELS_FILE: models,
  });
  delete process.env['HF_HUB_OFFLINE'];
});
afterAll(async () => {
  for (const k of KEYS)
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadVAR({ model })', () => {
  it('downloads the named files into the Hugging Face cache, reports progress, and loads them', async () => {
    const events: string[] = [];
    const model = await loadVAR({ model: 'tiny', registry, onDownload: (e) => events.push(e.status) });
    try {
      expect(model.config).toMatchObject({ depth: 2, patchNums: [1, 2, 3, 4] });
      expect(events.filter((s) => s === 'done')).toHaveLength(2);
      expect(events).toContain('progress');
    } finally {
      await model.dispose();
    }
  });

  it('refuses files that are not the model the name promises', async () => {
    await expect(loadVAR({ model: 'tiny-claims-d16', registry })).rejects.toThrow(
      /var\.pth from test\/tiny@main is not tiny-claims-d16: it has depth 2, not 16/,
    );
  });

  it('names the catalogue when the name is unknown, and refuses a name with paths', async () => {
    await expect(loadVAR({ model: 'var-d99', registry })).rejects.toMatchObject({
      code: 'unknown-model',
      message: "no model named 'var-d99'",
      fix: expect.stringMatching(/var-d16, var-d20/),
    });
    await expect(loadVAR({ model: 'tiny', var: fixture('var.pth'), registry })).rejects.toThrow(
      /either \{ model \} or \{ var, vae \}/,
    );
  });
});
