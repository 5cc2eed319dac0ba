import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backend as cpuBackend } from '@nextscale/backend-cpu';
import { createRegistry, explicitPolicy, loadVAR, type GenerateResult } from '@nextscale/core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { to8bit } from '../output/image.js';
import { fixture, run, runJson, start } from '../test-support.js';

const SETTINGS = { labels: [3], cfg: 2, topK: 20, topP: 0.9, seed: 5 };
const FLAGS = [
  '--patch-nums',
  '1,2,3,4',
  '--backend',
  'cpu',
  '--cfg',
  '2',
  '--top-k',
  '20',
  '--top-p',
  '0.9',
  '--seed',
  '5',
];
const model = (fmt: string) => ['--var', fixture(`var.${fmt}`), '--vae', fixture(`vae.${fmt}`)];

async function pipeline(fmt: string, labels: number[]): Promise<GenerateResult> {
  const registry = createRegistry();
  registry.register(cpuBackend);
  const m = await loadVAR({
    var: fixture(`var.${fmt}`),
    vae: fixture(`vae.${fmt}`),
    patchNums: [1, 2, 3, 4],
    registry,
    policy: explicitPolicy('cpu'),
  });
  try {
    return await m.generate({ ...SETTINGS, labels });
  } finally {
    await m.dispose();
  }
}

/** The reference's `(img·255).astype(uint8)` for image `i`, as RGB rows. */
function expectedPixels(images: GenerateResult['images'], i: number): { plain: number[]; f32: number[] } {
  const [, , H, W] = images.shape as [number, number, number, number];
  const plain: number[] = [];
  const f32: number[] = [];
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < 3; c++) {
      const x = images.data[(i * 3 + c) * H * W + p];
      plain.push(Math.trunc(x * 255));
      f32.push(to8bit(x));
    }
  }
  return { plain, f32 };
}

function pngTile(file: string, tile: { x: number; y: number; width: number; height: number }): number[] {
  const png = PNG.sync.read(readFileSync(file));
  const out: number[] = [];
  for (let y = tile.y; y < tile.y + tile.height; y++) {
    for (let x = tile.x; x < tile.x + tile.width; x++) {
      const o = (y * png.width + x) * 4;
      out.push(png.data[o], png.data[o + 1], png.data[o + 2]);
    }
  }
  return out;
}

describe('nextscale generate', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-gen-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const fmt of ['safetensors', 'pth']) {
    it(`writes a PNG whose pixels equal the pipeline's image, truncated ·255 (.${fmt} weights)`, async () => {
      const out = path.join(dir, `one-${fmt}.png`);
      const r = run(['generate', ...model(fmt), ...FLAGS, '--class', '3', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe(''); // not a TTY: no progress, no logs
      const png = PNG.sync.read(readFileSync(out));
      const ref = await pipeline(fmt, [3]);
      expect([png.width, png.height]).toEqual([ref.images.shape[3], ref.images.shape[2]]);
      const expected = expectedPixels(ref.images, 0);
      expect(expected.f32).toEqual(expected.plain);
      expect(pngTile(out, { x: 0, y: 0, width: png.width, height: png.height })).toEqual(expected.plain);
    });
  }

  it('--zoom n makes each pixel an n×n block of the same exact value, tiles included', async () => {
    const out = path.join(dir, 'zoom.png');
    const { result, doc } = runJson<{
      images: { tile: { x: number; y: number; width: number; height: number } }[];
      config: { zoom: number };
    }>(['generate', ...model('safetensors'), ...FLAGS, '--class', '1,2', '--out', out, '--zoom', '3']);
    expect(result.status, result.stderr).toBe(0);
    expect(doc.config.zoom).toBe(3);
    const ref = await pipeline('safetensors', [1, 2]);
    const [, , H, W] = ref.images.shape as [number, number, number, number];
    doc.images.forEach((img, i) => {
      expect([img.tile.width, img.tile.height]).toEqual([3 * W, 3 * H]);
      const got = pngTile(out, img.tile);
      const plain = expectedPixels(ref.images, i).plain;
      const zoomed: number[] = [];
      for (let y = 0; y < 3 * H; y++)
        for (let x = 0; x < 3 * W; x++)
          zoomed.push(
            ...plain.slice(
              (Math.floor(y / 3) * W + Math.floor(x / 3)) * 3,
              (Math.floor(y / 3) * W + Math.floor(x / 3)) * 3 + 3,
            ),
          );
      expect(got, `tile ${i}`).toEqual(zoomed);
    });
    const bad = run([
      'generate',
      ...model('safetensors'),
      ...FLAGS,
      '--class',
      '1',
      '--out',
      path.join(dir, 'z0.png'),
      '--zoom',
      '0',
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^nextscale: --zoom must be ≥ 1, got 0/);
  });

  it('gives the same PNG from both weight formats', () => {
    expect(
      readFileSync(path.join(dir, 'one-pth.png')).equals(readFileSync(path.join(dir, 'one-safetensors.png'))),
    ).toBe(true);
  });

  it('puts several images in one grid whose tiles are pixel-exact, and reports everything in --json', async () => {
    const out = path.join(dir, 'grid.png');
    const { result, doc } = runJson<{
      files: { path: string; kind: string; width: number; height: number }[];
      images: { index: number; label: number; tile: { x: number; y: number; width: number; height: number } }[];
      tokens: { scale: number; patchNum: number; tokens: number[] }[];
      timings: Record<string, unknown> & { scales: { scale: number; ms: number }[] };
      trace: {
        policy: string;
        summary: Record<string, number>;
        entries: { site: string; backend: string; reason: string }[];
      };
      config: Record<string, { value: unknown; source: string }> & { classes: number[]; batch: number };
    }>(['generate', ...model('safetensors'), ...FLAGS, '--class', '1,2', '--batch', '2', '--out', out]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(doc.files).toEqual([expect.objectContaining({ path: out, kind: 'grid' })]);
    expect(doc.images.map((i) => i.label)).toEqual([1, 1, 2, 2]);
    expect(doc.tokens.map((t) => [t.patchNum, t.tokens.length])).toEqual([
      [1, 4],
      [2, 16],
      [3, 36],
      [4, 64],
    ]);
    expect(doc.timings.scales.map((s) => s.scale)).toEqual([0, 1, 2, 3]);
    for (const k of ['loadMs', 'transformerMs', 'decodeMs', 'writeMs', 'totalMs'])
      expect(typeof doc.timings[k], k).toBe('number');
    expect(doc.trace.policy).toBe('explicit(cpu)');
    expect(doc.trace.entries.length).toBeGreaterThan(0);
    expect(doc.trace.entries.every((e) => e.backend === 'cpu')).toBe(true);
    expect(doc.config.seed).toEqual({ value: 5, source: 'flag' });
    expect(doc.config.policy).toEqual({ value: 'explicit', source: 'flag', from: 'backend' });
    expect(doc.config.classes).toEqual([1, 2]);

    const ref = await pipeline('safetensors', [1, 1, 2, 2]);
    expect(doc.tokens.map((t) => t.tokens)).toEqual(ref.tokens.map((t) => Array.from(t)));
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([doc.files[0].width, doc.files[0].height]);
    doc.images.forEach((img, i) =>
      expect(pngTile(out, img.tile), `tile ${i}`).toEqual(expectedPixels(ref.images, i).plain),
    );
  });

  it('--explain prints the decision trace as a table on stderr', () => {
    const out = path.join(dir, 'explain.png');
    const r = run(['generate', ...model('pth'), '--patch-nums', '1,2,3,4', '--class', '0', '--out', out, '--explain']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^attention decisions \(policy norm; cpu: \d+ heads/);
    expect(r.stderr).toMatch(/^site\s+heads\s+backend\s+beta\s+regime/m);
    expect(r.stderr).toMatch(/^var\.blocks\.0\.attn\s+0-3\s+cpu\s+4\.01 \(l2-static\)\s+critical/m);
    expect(r.stderr).toMatch(/^vae\.decoder\.mid\.attn_1\s+0\s+cpu/m);
  });

  it('uses the model from NEXTSCALE_VAR/NEXTSCALE_VAE, and flags beat the environment', () => {
    const r = runJson<{ config: Record<string, { value: unknown; source: string }> }>(
      ['generate', '--print-config', '--seed', '9'],
      {
        env: {
          NEXTSCALE_VAR: fixture('var.pth'),
          NEXTSCALE_VAE: fixture('vae.pth'),
          NEXTSCALE_EPSILON: '0.05',
          NEXTSCALE_POLICY: 'priority',
        },
        cwd: dir,
      },
    );
    expect(r.result.status, r.result.stderr).toBe(0);
    expect(r.doc.config.var).toEqual({ value: fixture('var.pth'), source: 'env' });
    expect(r.doc.config.epsilon).toEqual({ value: 0.05, source: 'env' });
    expect(r.doc.config.policy).toEqual({ value: 'priority', source: 'env' });
    expect(r.doc.config.seed).toEqual({ value: 9, source: 'flag' });
    expect(r.doc.config.cfg).toEqual({ value: 1.5, source: 'default' });
    expect(r.doc.config.topK).toEqual({ value: 900, source: 'default' });
    expect(r.doc.config.topP).toEqual({ value: 0.96, source: 'default' });
  });

  it('takes default sampling settings from the model metadata, below the config file and flags', () => {
    const proj = mkdtempSync(path.join(os.tmpdir(), 'nextscale-meta-'));
    try {
      const withMeta = path.join(proj, 'var.safetensors');
      const c = run([
        'convert',
        fixture('var.pth'),
        withMeta,
        '--metadata',
        'top_k=7',
        '--metadata',
        'cfg=3',
        '--metadata',
        'top_p=0.5',
        '--metadata',
        'class_names=["a","b","c","d","e","f","g","h","i","Ankle boot"]',
      ]);
      expect(c.status, c.stderr).toBe(0);
      writeFileSync(
        path.join(proj, 'nextscale.config.json'),
        JSON.stringify({ model: { var: 'var.safetensors', vae: fixture('vae.pth') }, sampling: { cfg: 4 } }),
      );
      const { result, doc } = runJson<{ config: Record<string, { value: unknown; source: string }> }>(
        ['generate', '--print-config', '--top-p', '0.7'],
        { cwd: proj },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(doc.config.var).toEqual({ value: withMeta, source: 'config' });
      expect(doc.config.topK).toEqual({ value: 7, source: 'model' });
      expect(doc.config.cfg).toEqual({ value: 4, source: 'config' });
      expect(doc.config.topP).toEqual({ value: 0.7, source: 'flag' });
      const text = run(['generate', '--print-config'], { cwd: proj });
      expect(text.stdout).toMatch(/^topK\s+7\s+model$/m);
      expect(text.stdout).toMatch(/^config file: .*nextscale\.config\.json$/m);

      // class names from the metadata, case-insensitive; an unknown name lists them
      const out = path.join(proj, 'named.png');
      const named = runJson<{ images: { label: number; className: string }[] }>(
        ['generate', '--patch-nums', '1,2,3,4', '--class', 'ankle BOOT', '--out', out],
        { cwd: proj },
      );
      expect(named.result.status, named.result.stderr).toBe(0);
      expect(named.doc.images).toEqual([expect.objectContaining({ label: 9, className: 'Ankle boot' })]);
      const bad = run(['generate', '--patch-nums', '1,2,3,4', '--class', 'sneaker', '--out', out], { cwd: proj });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^nextscale: unknown class 'sneaker' — valid classes: 0 a, 1 b, .*9 Ankle boot\n$/);
    } finally {
      rmSync(proj, { recursive: true, force: true });
    }
  });

  it('Ctrl-C aborts through the AbortSignal, writes nothing and exits 130', async () => {
    const out = path.join(dir, 'interrupted.png');
    let sent = false;
    const r = await start(
      ['generate', ...model('pth'), '--patch-nums', '1,2,3,4', '--batch', '8', '--out', out, '--verbose'],
      {
        onStderr: (text, kill) => {
          if (!sent && /scale 1\/4/.test(text)) {
            sent = true;
            kill('SIGINT');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(r.status).toBe(130);
    expect(r.stderr).toMatch(/nextscale: interrupted — nothing was written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('interrupted'))).toEqual([]);
  });

  it('uses the shipped model by default, with its class names', () => {
    const out = path.join(dir, 'shipped.png');
    const { result, doc } = runJson<{
      images: { label: number; className: string | null }[];
      config: Record<string, { source: string }>;
    }>(['generate', '--class', '1', '--out', out], { cwd: dir });
    expect(result.status, result.stderr).toBe(0);
    expect(doc.config.var!.source).toBe('shipped');
    expect(doc.images).toHaveLength(1);
    expect(typeof doc.images[0].className).toBe('string');
    expect(existsSync(out)).toBe(true);
    const byName = run(
      ['generate', '--class', doc.images[0].className!.toUpperCase(), '--out', path.join(dir, 'shipped-by-name.png')],
      { cwd: dir },
    );
    expect(byName.status, byName.stderr).toBe(0);
  });
});
