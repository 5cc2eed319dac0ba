/**
 * The newcomer's path through a clone: the README's library snippet at the repository root, and the
 * optional plug-ins named in a config file inside the clone without a relative path.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGES, runJson } from './test-support.js';

const ROOT = path.resolve(PACKAGES, '..');
const SHIPPED = path.join(PACKAGES, 'cli', 'assets', 'fashion-mnist');

describe('a clone, used from its root', () => {
  it("runs the README's library snippet at the repository root", () => {
    // The README's imports, unchanged; the shipped model's files instead of the released checkpoints.
    const snippet = `
      import '@nextscale/backend-cpu/register';
      import '@nextscale/engine-wasm/register';
      import { loadVAR } from '@nextscale/core';
      const model = await loadVAR({ var: ${JSON.stringify(path.join(SHIPPED, 'var.safetensors'))}, vae: ${JSON.stringify(path.join(SHIPPED, 'vae.safetensors'))} });
      const { tokens, images, trace } = await model.generate({ labels: [3], cfg: 4, topK: 900, topP: 0.96, seed: 0 });
      console.log(JSON.stringify({ shape: images.shape, scales: tokens.length, backends: [...new Set(trace.entries.map((e) => e.backend))], engine: model.engine.id }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', snippet], { cwd: ROOT, encoding: 'utf8' });
    const doc = JSON.parse(out.trim().split('\n').pop()!);
    expect(doc.shape).toEqual([1, 3, 32, 32]);
    expect(doc.scales).toBe(7);
    expect(doc.backends).toEqual(['cpu']);
    expect(doc.engine).toBe('wasm');
  });

  const inside = mkdtempSync(path.join(ROOT, 'packages', 'cli', '.newcomer-'));
  afterAll(() => rmSync(inside, { recursive: true, force: true }));

  it('loads backend-lowrank and backend-gpu named in a config file inside the clone, by package name', () => {
    const config = path.join(inside, 'nextscale.config.json');
    writeFileSync(config, JSON.stringify({ backends: ['@nextscale/backend-lowrank', '@nextscale/backend-gpu'] }));
    const { result, doc } = runJson<{ installed: { package: string; from: string }[]; missingFromConfig: unknown[] }>(
      ['backends', '--config', config],
      { cwd: inside },
    );
    expect(result.status).toBe(0);
    expect(doc.installed.map((b) => b.package).sort()).toEqual([
      '@nextscale/backend-cpu',
      '@nextscale/backend-gpu',
      '@nextscale/backend-lowrank',
    ]);
    expect(doc.installed.filter((b) => b.package !== '@nextscale/backend-cpu').every((b) => b.from === 'config')).toBe(
      true,
    );
    expect(doc.missingFromConfig).toEqual([]);
  });
});
