import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openWeights } from '@nextscale/core/weights';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, run, runJson, tempProject } from '../test-support.js';

const FIXTURE_METADATA = [
  '--metadata',
  'source=FoundationVision/VAR oracle (make_refs.py)',
  '--metadata',
  'config=tiny',
];

async function tensorsOf(file: string) {
  const r = await openWeights(file);
  try {
    const out = [];
    for (const t of r.tensors)
      out.push({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        bytes: Buffer.from(await r.readBytes(t.name)).toString('hex'),
      });
    return out;
  } finally {
    await r.close();
  }
}

describe('nextscale convert', () => {
  const tmp = tempProject();
  afterAll(() => tmp.cleanup());

  it('round-trips the tiny VAR .pth to a safetensors equal to the fixture, tensor by tensor, and verifies a checksum', async () => {
    const out = path.join(tmp.dir, 'var.safetensors');
    const { result, doc } = runJson<{
      sha256: string;
      tensors: number;
      verified: { sha256Match: boolean; tensorsEqual: number };
    }>(['convert', fixture('var.pth'), out]);
    expect(result.status).toBe(0);
    expect(doc.sha256).toBe(createHash('sha256').update(readFileSync(out)).digest('hex'));
    expect(doc.verified).toEqual({ sha256Match: true, tensorsEqual: 38 });
    expect(await tensorsOf(out)).toEqual(await tensorsOf(fixture('var.safetensors')));
    // dtypes are kept: lvl_1L stays I64
    expect((await tensorsOf(out)).find((t) => t.name === 'lvl_1L')?.dtype).toBe('I64');
  });

  it('writes byte-identical files to the fixture when given the same metadata', () => {
    for (const name of ['var', 'vae']) {
      const out = path.join(tmp.dir, `${name}-same.safetensors`);
      const r = run(['convert', fixture(`${name}.pth`), out, ...FIXTURE_METADATA]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^sha256 [0-9a-f]{64} \(verified/m);
      expect(readFileSync(out).equals(readFileSync(fixture(`${name}.safetensors`))), name).toBe(true);
    }
  });

  it('refuses to overwrite without --force and leaves no temporary files', () => {
    const out = path.join(tmp.dir, 'var.safetensors');
    const r = run(['convert', fixture('var.pth'), out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/already exists — pass --force/);
    expect(run(['convert', fixture('var.pth'), out, '--force']).status).toBe(0);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('exits 3 on a corrupt input', () => {
    const r = run(['convert', fixture('config.json'), path.join(tmp.dir, 'x.safetensors')]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^nextscale: .*config\.json: not a weights file/);
  });
});
