/** Unit tests of the small modules (the commands are tested through the binary). */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { describeConfigIssue, configSchema } from './config/schema.js';
import { resolveSettings } from './config/resolve.js';
import { createContext } from './context.js';
import { describeError, splitFix, CliError } from './errors.js';
import { parseClasses } from './model/classes.js';
import { parseModelMetadata } from './model/metadata.js';
import { textWidth } from './output/font.js';
import { composeGrid } from './output/grid.js';
import { to8bit } from './output/image.js';
import { createProgress } from './output/progress.js';
import { NextscaleError, WeightsError } from '@nextscale/core';

describe('config schema', () => {
  const issue = (v: unknown) => describeConfigIssue('nextscale.config.json', configSchema.safeParse(v).error!);
  it('names the bad key and where it is', () => {
    expect(issue({ backendz: [] })).toBe("nextscale.config.json: unknown key 'backendz' at top level");
    expect(issue({ model: { vars: 'x' } })).toBe("nextscale.config.json: unknown key 'vars' at model");
    expect(issue({ policy: { name: 'fast' } })).toMatch(/^nextscale\.config\.json: policy\.name: /);
  });
  it('accepts the documented shape', () => {
    const ok = {
      backends: ['@nextscale/backend-lowrank'],
      policy: { name: 'norm', backend: 'cpu', epsilon: 0.01, order: ['gpu', 'cpu'] },
      model: { var: 'a.pth', vae: 'b.pth', patchNums: [1, 2], numHeads: 4 },
      sampling: { cfg: 1, topK: 5, topP: 0.5, seed: 1, moreSmooth: true },
    };
    expect(configSchema.parse(ok)).toEqual(ok);
  });
});

describe('settings precedence', () => {
  it('flags > env > config > model > defaults, and a backend implies the explicit policy at its layer', () => {
    const s = resolveSettings(
      { flags: { seed: 1 }, env: { backend: 'lowrank', seed: 2 }, file: { policy: 'priority', seed: 3, cfg: 2 } },
      { cfg: 5, topK: 7 },
    );
    expect(s.seed).toEqual({ value: 1, source: 'flag' });
    expect(s.policy).toEqual({ value: 'explicit', source: 'env', from: 'backend' });
    expect(s.cfg).toEqual({ value: 2, source: 'config' });
    expect(s.topK).toEqual({ value: 7, source: 'model' });
    expect(s.topP).toEqual({ value: 0.96, source: 'default' });
    expect(resolveSettings({ flags: { policy: 'norm' }, env: { backend: 'cpu' }, file: {} }).policy).toEqual({
      value: 'norm',
      source: 'flag',
    });
    expect(() => resolveSettings({ flags: { policy: 'explicit' }, env: {}, file: {} })).toThrow(/needs a backend/);
  });
});

describe('errors', () => {
  it('puts the remedy after the dash', () => {
    expect(describeError(new CliError('E_USAGE', 'bad', 'do this')).line).toBe('bad — do this');
    expect(describeError(new WeightsError('/x.pth', 'corrupt zip; the file is damaged, get it again')).line).toBe(
      '/x.pth: corrupt zip — the file is damaged, get it again',
    );
    expect(splitFix('cannot tell the schedule (L = 30): pass --patch-nums (lvl_1L suggests [1, 2])')).toEqual({
      problem: 'cannot tell the schedule (L = 30)',
      fix: 'pass --patch-nums (lvl_1L suggests [1, 2])',
    });
  });
  it('maps each code to its exit code; anything else is internal', () => {
    expect(describeError(new NextscaleError('E_CONFIG', 'x')).exitCode).toBe(2);
    expect(describeError(new NextscaleError('E_WEIGHTS', 'x')).exitCode).toBe(3);
    expect(describeError(new NextscaleError('E_BACKEND_UNAVAILABLE', 'x')).exitCode).toBe(4);
    expect(describeError(new NextscaleError('E_ABORTED', 'x')).exitCode).toBe(130);
    const internal = describeError(new TypeError('boom'));
    expect(internal).toMatchObject({ code: 'E_INTERNAL', exitCode: 1, internal: true });
    expect(internal.line).toBe('internal error: boom — rerun with --debug for the stack trace and report it');
  });
});

describe('classes and metadata', () => {
  const names = [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ];
  it('accepts numbers, names (any case), comma lists and unique prefixes', () => {
    expect(parseClasses(['0', 'trouser,ANKLE BOOT', 't-shirt/top', 'tshirt', 'sneak'], 10, names)).toEqual([
      0, 1, 9, 0, 0, 7,
    ]);
    expect(() => parseClasses(['s'], 10, names)).toThrow(/unknown class 's'/);
    expect(() => parseClasses(['x'], 10, undefined)).toThrow(/unknown class 'x'/);
  });
  it('reads patch nums, class names and sampling defaults leniently', () => {
    expect(
      parseModelMetadata({
        patch_nums: '[1,2,3]',
        class_names: '["a","b"]',
        top_k: '7',
        sampling: '{"cfg": 3, "more_smooth": true}',
      }),
    ).toEqual({ patchNums: [1, 2, 3], classNames: ['a', 'b'], sampling: { topK: 7, cfg: 3, moreSmooth: true } });
    expect(parseModelMetadata({ format: 'pt' })).toEqual({ sampling: {} });
    // the shipped model's keys
    expect(
      parseModelMetadata({ default_cfg: '2.0', default_top_k: '0', default_top_p: '0.0', default_more_smooth: 'false' })
        .sampling,
    ).toEqual({
      cfg: 2,
      topK: 0,
      topP: 0,
      moreSmooth: false,
    });
  });
});

describe('images', () => {
  it('truncates x·255 like numpy (img·255).astype(uint8) on float32 images', () => {
    expect([0, 1, 0.5, 1e-9, 0.999, -0.1, 1.2].map(to8bit)).toEqual([0, 255, 127, 0, 254, 0, 255]);
    // the float64 product of a float32 truncates like the float32 product, around every level
    for (let n = 1; n < 256; n++) {
      const f = new Float32Array([n / 255]);
      const bits = new Uint32Array(f.buffer);
      const base = bits[0];
      for (let d = -64; d <= 64; d++) {
        bits[0] = base + d;
        if (f[0] > 1) continue;
        expect(to8bit(f[0])).toBe(Math.min(255, Math.trunc(Math.fround(f[0] * 255))));
      }
    }
  });
  it('copies grid tiles unchanged and labels the rows', () => {
    const tile = (v: number) => ({ width: 2, height: 2, data: new Uint8Array(12).fill(v) });
    const g = composeGrid([tile(10), tile(20), tile(30)], { columns: 2, rowLabels: ['A', 'BB'], padding: 1 });
    expect(g.tiles.map((t) => [t.row, t.col])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
    const labelW = textWidth('BB') + 1;
    expect(g.tiles[0].x).toBe(1 + labelW);
    for (const [i, t] of g.tiles.entries()) {
      for (let y = t.y; y < t.y + 2; y++)
        for (let x = t.x; x < t.x + 2; x++) expect(g.image.data[(y * g.image.width + x) * 3]).toBe((i + 1) * 10);
    }
  });
});

describe('progress', () => {
  const sink = (isTTY: boolean) => {
    let text = '';
    const stream = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          text += chunk;
          cb();
        },
      }),
      {
        isTTY,
        columns: 100,
        cursorTo: () => true,
        moveCursor: () => true,
        clearLine: () => true,
        clearScreenDown: () => true,
      },
    );
    return { stream, text: () => text };
  };
  it('draws bars only on a TTY', () => {
    const tty = sink(true);
    const p = createProgress(createContext({ stderr: tty.stream, env: {} }));
    p.scale(1, 4, '(1×1)');
    p.scale(4, 4, '(4×4)');
    p.decode('start');
    p.decode('done');
    p.stop();
    expect(tty.text()).toMatch(/scales \|.*\| 4\/4/);
    expect(tty.text()).toMatch(/decode \|/);
    const pipe = sink(false);
    const q = createProgress(createContext({ stderr: pipe.stream, env: {} }));
    q.scale(1, 4);
    q.decode('start');
    q.stop();
    expect(pipe.text()).toBe('');
  });
});
