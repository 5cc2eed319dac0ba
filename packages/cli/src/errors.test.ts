import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, run, runJson, tempProject } from './test-support.js';

/** Every class of user error: one line `nextscale: <problem> — <fix>`, its exit code, and the --json form. */
describe('errors and exit codes', () => {
  const p = tempProject();
  afterAll(() => p.cleanup());
  const file = (name: string) => path.join(p.dir, name);

  const truncated = file('truncated.safetensors');
  writeFileSync(truncated, readFileSync(fixture('var.safetensors')).subarray(0, 300_000));
  const corrupt = file('corrupt.pth');
  const bytes = readFileSync(fixture('var.pth'));
  const at = bytes.indexOf('data.pkl') + 200;
  bytes.fill(0x41, at, at + 200);
  writeFileSync(corrupt, bytes);
  const notWeights = file('notes.pth');
  writeFileSync(notWeights, 'these are not weights\n');
  copyFileSync(fixture('vae.pth'), file('vae.pth'));

  const gen = (v: string, vae: string, ...rest: string[]) => [
    'generate',
    '--var',
    v,
    '--vae',
    vae,
    '--patch-nums',
    '1,2,3,4',
    '--out',
    file('x.png'),
    ...rest,
  ];

  const cases: { name: string; args: string[]; exit: number; code: string; stderr: RegExp }[] = [
    {
      name: 'missing weights file',
      args: gen(file('nope.pth'), fixture('vae.pth')),
      exit: 3,
      code: 'E_WEIGHTS',
      stderr: /VAR weights file .*nope\.pth does not exist — check the path/,
    },
    {
      name: 'truncated safetensors',
      args: gen(truncated, fixture('vae.pth')),
      exit: 3,
      code: 'E_WEIGHTS',
      stderr: /truncated\.safetensors: truncated: .* — the download was probably interrupted/,
    },
    {
      name: 'corrupt .pth',
      args: gen(corrupt, fixture('vae.pth')),
      exit: 3,
      code: 'E_WEIGHTS',
      stderr: /corrupt\.pth: corrupt zip archive: .* — /,
    },
    {
      name: 'not a weights file',
      args: gen(notWeights, fixture('vae.pth')),
      exit: 3,
      code: 'E_WEIGHTS',
      stderr: /notes\.pth: not a weights file/,
    },
    {
      name: 'wrong model (VQ-VAE given as VAR)',
      args: gen(fixture('vae.pth'), fixture('var.pth')),
      exit: 3,
      code: 'E_WEIGHTS',
      stderr: /not a VAR transformer checkpoint/,
    },
    {
      name: 'unknown class',
      args: gen(fixture('var.pth'), fixture('vae.pth'), '--class', 'shoe'),
      exit: 2,
      code: 'E_USAGE',
      stderr: /unknown class 'shoe' — valid classes are the numbers 0\.\.9/,
    },
    {
      name: 'class out of range',
      args: gen(fixture('var.pth'), fixture('vae.pth'), '--class', '10'),
      exit: 2,
      code: 'E_USAGE',
      stderr: /class 10 is out of range for this model \(10 classes\)/,
    },
    {
      name: 'uninstalled backend',
      args: gen(fixture('var.pth'), fixture('vae.pth'), '--backend', 'gpu2'),
      exit: 4,
      code: 'E_BACKEND_UNAVAILABLE',
      stderr: /attention backend 'gpu2' is not installed \(installed: cpu\) — npm i @nextscale\/backend-gpu2/,
    },
    {
      name: 'bad number',
      args: gen(fixture('var.pth'), fixture('vae.pth'), '--top-p', '2'),
      exit: 2,
      code: 'E_USAGE',
      stderr: /--top-p must be ≤ 1, got 2/,
    },
    {
      name: 'unknown policy',
      args: gen(fixture('var.pth'), fixture('vae.pth'), '--policy', 'fastest'),
      exit: 2,
      code: 'E_USAGE',
      stderr: /--policy: unknown policy 'fastest' — use one of norm, priority, explicit/,
    },
    {
      name: 'wrong patch schedule',
      args: ['generate', '--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--patch-nums', '1,2,3'],
      exit: 2,
      code: 'E_USAGE',
      stderr: /--patch-nums \[1, 2, 3\] give 14 tokens but .*var\.pth has L = 30/,
    },
    {
      name: 'schedule with the right L but the wrong number of scales',
      args: ['generate', '--var', fixture('var.pth'), '--vae', fixture('vae.pth'), '--patch-nums', '1,2,5'],
      exit: 2,
      code: 'E_USAGE',
      stderr: /lvl_embed\.weight has 4 rows but the patch schedule \[1, 2, 5\] has 3 scales/,
    },
    {
      name: '--backend with the norm policy',
      args: gen(fixture('var.pth'), fixture('vae.pth'), '--backend', 'cpu', '--policy', 'norm'),
      exit: 2,
      code: 'E_USAGE',
      stderr: /--backend and the norm policy are both set \(flag\) — drop one/,
    },
    {
      name: '--var without --vae',
      args: ['generate', '--var', fixture('var.pth')],
      exit: 2,
      code: 'E_USAGE',
      stderr: /--var was given without --vae — pass both/,
    },
    {
      name: 'inspect a missing file',
      args: ['inspect', file('nope.safetensors')],
      exit: 3,
      code: 'E_WEIGHTS',
      stderr: /does not exist/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: exit ${c.exit}, one line, no stack`, () => {
      const r = run(c.args, { cwd: p.dir });
      expect(r.status, r.stderr).toBe(c.exit);
      expect(r.stderr).toMatch(/^nextscale: /);
      expect(r.stderr).toMatch(c.stderr);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
      const j = runJson<{ error: { code: string; message: string; exitCode: number } }>(c.args, { cwd: p.dir });
      expect(j.result.status).toBe(c.exit);
      expect(j.doc.error).toMatchObject({ code: c.code, exitCode: c.exit });
      expect(typeof j.doc.error.message).toBe('string');
    });
  }

  it('a model that does not fit the memory is refused before loading: exit 5, the numbers, nothing written', () => {
    const args = gen(fixture('var.pth'), fixture('vae.pth'), '--class', '3');
    const env = { NEXTSCALE_MEMORY_LIMIT: '100MB' };
    const r = run(args, { cwd: p.dir, env });
    expect(r.status, r.stderr).toBe(5);
    expect(r.stderr).toMatch(
      /^nextscale: VAR-d\d+ at \d+ px, 1 image at once, on the \w+ engine needs about \d+ MB of memory \(weights \d+ MB \+ KV cache \d+ kB \+ working set \d+ MB\), but 100 MB is available \(NEXTSCALE_MEMORY_LIMIT\) — .*use a smaller model or a machine with more memory\n$/,
    );
    expect(r.stdout).toBe('');
    expect(() => readFileSync(file('x.png'))).toThrow();
    const j = runJson<{ error: { code: string; exitCode: number } }>(args, { cwd: p.dir, env });
    expect(j.doc.error).toMatchObject({ code: 'E_MEMORY', exitCode: 5 });
    // the same request with room for it runs
    expect(run(args, { cwd: p.dir, env: { NEXTSCALE_MEMORY_LIMIT: '64GB' } }).status).toBe(0);
    expect(readFileSync(file('x.png')).length).toBeGreaterThan(0);
    rmSync(file('x.png'));
  });

  it('a NEXTSCALE_MEMORY_LIMIT that is not a size is a usage error', () => {
    const r = run(gen(fixture('var.pth'), fixture('vae.pth')), { cwd: p.dir, env: { NEXTSCALE_MEMORY_LIMIT: 'lots' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^nextscale: NEXTSCALE_MEMORY_LIMIT="lots" is not a size; give bytes or a size such as 8GB/,
    );
  });

  it('writes nothing when an error stops a run', () => {
    expect(run(gen(fixture('var.pth'), fixture('vae.pth'), '--class', 'shoe'), { cwd: p.dir }).status).toBe(2);
    expect(() => readFileSync(file('x.png'))).toThrow();
  });
});
