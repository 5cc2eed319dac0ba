/**
 * The smaller hostile inputs of issue 26: model metadata whose sampling defaults no flag would accept,
 * a config module that never settles, convert into a read-only folder, an unknown backend option,
 * messages that printed a literal `<command>`. Each is one line with the documented exit code.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED, cli as cliIn, errorLines, type StartOptions } from '../support/processes.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nextscale-hostile-low-'));
const cli = (args: string[], o: Partial<StartOptions> = {}) => cliIn(args, { cwd: dir, ...o });
const VAE = path.join(SHIPPED, 'vae.safetensors');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shipped VAR with extra metadata (convert --metadata key=value). */
const withMetadata: Record<string, string> = {};
beforeAll(async () => {
  for (const [name, kv] of [
    ['cfg-neg', 'default_cfg=-5'],
    ['cfg-nan', 'default_cfg=NaN'],
    ['topk-neg', 'default_top_k=-3'],
    ['smooth-maybe', 'more_smooth=maybe'],
  ]) {
    const file = path.join(dir, `${name}.safetensors`);
    const r = await cli(['convert', path.join(SHIPPED, 'var.safetensors'), file, '--metadata', kv!, '--no-verify']);
    expect(r.status, r.stderr).toBe(0);
    withMetadata[name!] = file;
  }
});

const oneLine = (r: { status: number | null; stderr: string }, exit: number, line: RegExp) => {
  expect(r.status, r.stderr).toBe(exit);
  expect(errorLines(r.stderr)).toEqual([expect.stringMatching(line)]);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error|<command>/);
};

describe('low items', () => {
  it("metadata defaults are validated: −5, NaN and −3 are named as the metadata's (exit 3); a flag overrides them", async () => {
    const gen = (name: string, extra: string[] = []) =>
      cli([
        'generate',
        '--var',
        withMetadata[name],
        '--vae',
        VAE,
        '--class',
        '0',
        '--out',
        path.join(dir, `${name}.png`),
        ...extra,
      ]);
    oneLine(
      await gen('cfg-neg'),
      3,
      /^nextscale: the model's metadata sets default_cfg "-5", which is not a number of at least 0 — pass --cfg to override it, or fix the metadata of the VAR file$/,
    );
    oneLine(
      await gen('cfg-nan'),
      3,
      /^nextscale: the model's metadata sets default_cfg "NaN", which is not a number of at least 0 — pass --cfg/,
    );
    oneLine(
      await gen('topk-neg'),
      3,
      /^nextscale: the model's metadata sets default_top_k "-3", which is not an integer of at least 0 — pass --top-k to override it/,
    );
    oneLine(
      await gen('smooth-maybe'),
      3,
      /^nextscale: the model's metadata sets more_smooth "maybe", which is not true or false — pass --more-smooth/,
    );
    const overridden = await gen('cfg-neg', ['--cfg', '2']);
    expect(overridden.status, overridden.stderr).toBe(0);
  });

  it('a .mjs config that never settles: exit 2 after the load timeout, with a message', async () => {
    const cfg = path.join(dir, 'never.mjs');
    writeFileSync(cfg, 'await new Promise(() => {});\nexport default {};\n');
    const t0 = Date.now();
    const r = await cli(['generate', '--config', cfg, '--out', path.join(dir, 'never.png')]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    oneLine(
      r,
      2,
      /^nextscale: never\.mjs: did not finish loading in 10 s \(its top-level code waits on something that never comes\) — make the config module export its object/,
    );
  });

  it('convert into a read-only folder names the folder, not the weights (exit 2)', async () => {
    const ro = path.join(dir, 'read-only');
    mkdirSync(ro);
    const r = await cli(['convert', VAE, path.join(ro, 'out.safetensors')], {
      node: ['--import', path.join(import.meta.dirname, 'erofs-preload.mjs')],
      env: { NEXTSCALE_TEST_EROFS_DIR: ro },
    });
    oneLine(
      r,
      2,
      /^nextscale: cannot write .*read-only\/out\.safetensors \(read-only file system\) — choose an output path in a folder you can write$/,
    );
  });

  it('backendOptions.cpu.bogus is refused, naming the option and the valid ones (exit 2)', async () => {
    const cfg = path.join(dir, 'bogus.json');
    writeFileSync(cfg, JSON.stringify({ backendOptions: { cpu: { bogus: 1 } } }));
    const r = await cli(['generate', '--config', cfg, '--out', path.join(dir, 'bogus.png')]);
    oneLine(
      r,
      2,
      /^nextscale: backendOptions\.cpu\.bogus is not an option of the cpu backend — use one of kernel, threads, or remove it$/,
    );
  });

  it("no literal <command> in messages: the help named is the command's own", async () => {
    oneLine(
      await cli(['generate', '--zoom', '0', '--out', path.join(dir, 'z.png')]),
      2,
      /^nextscale: --zoom must be .* — see 'nextscale generate --help'$/,
    );
    oneLine(await cli(['nope']), 2, /^nextscale: unknown command 'nope' — pass a command: nextscale generate\|edit\|/);
    oneLine(await cli([]), 2, /^nextscale: no command given — pass a command: /);
  });
});
