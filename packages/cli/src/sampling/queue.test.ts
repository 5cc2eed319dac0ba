import { describe, expect, it } from 'vitest';
import { describeError } from '../errors.js';
import { jobIdOf, parseQueueName, parseQueueUrl, setIdOf, stallMsFrom, DEFAULT_STALL_MS } from './queue.js';
import { planSet } from './plan.js';
import { refusalReasons } from './worker.js';
import type { SetIdentity } from './manifest.js';

const identity = (cfg: number): SetIdentity => ({
  model: { var: { path: '/m/var', sha256: 'a'.repeat(64), bytes: 1 }, vae: { path: '/m/vae', sha256: 'b'.repeat(64), bytes: 2 } },
  settings: { perClass: 2, classes: [0, 1], seed: 0, cfg, topK: 900, topP: 0.96, moreSmooth: false, patchNums: [1, 2], policy: 'norm', backend: null, epsilon: null },
});

describe('queue wire format', () => {
  it('set ids depend on the model and every setting; job ids on the chunk', () => {
    expect(setIdOf(identity(1.5))).toBe(setIdOf(identity(1.5)));
    expect(setIdOf(identity(1.5))).not.toBe(setIdOf(identity(2)));
    const plan = planSet([0, 1], 2, 0);
    expect(jobIdOf('s', plan.slice(2, 4))).toBe('s-2-2');
    expect(jobIdOf('s', plan.slice(2, 4))).not.toContain(':'); // BullMQ refuses custom ids with ':'
  });

  it('URLs, queue names and the stall interval are checked with one-line usage errors', () => {
    expect(parseQueueUrl('redis://h:1')).toBe('redis://h:1');
    for (const bad of ['h:1', 'http://h:1', '']) expect(describeError(catchErr(() => parseQueueUrl(bad))).exitCode).toBe(2);
    expect(describeError(catchErr(() => parseQueueName('a:b'))).exitCode).toBe(2);
    expect(stallMsFrom(undefined, {})).toBe(DEFAULT_STALL_MS);
    expect(stallMsFrom(undefined, { NEXTSCALE_STALL_MS: '1500' })).toBe(1500);
    expect(stallMsFrom('2000', { NEXTSCALE_STALL_MS: '1500' })).toBe(2000);
    expect(describeError(catchErr(() => stallMsFrom('10', {}))).line).toMatch(/^--stall-ms expects an integer of at least 500/);
    expect(describeError(catchErr(() => stallMsFrom(undefined, { NEXTSCALE_STALL_MS: 'x' }))).line).toMatch(/^NEXTSCALE_STALL_MS expects/);
  });

  it('a worker names each difference between its model and the set', () => {
    const set = identity(1.5);
    const mine = { files: set.model, render: { ...set.settings } };
    const data = { setId: 's', digest: '', model: set.model, settings: set.settings, images: [] };
    expect(refusalReasons(mine, data)).toEqual([]);
    const other = { ...mine, files: { ...set.model, vae: { path: '/x/vae', sha256: 'c'.repeat(64), bytes: 2 } }, render: { ...set.settings, patchNums: [1, 3] } };
    expect(refusalReasons(other, data)).toEqual(['VQ-VAE file /x/vae has sha256 cccccccccccc…, the set\'s has bbbbbbbbbbbb…', 'patch sizes [1,3] here, [1,2] in the set']);
  });
});

function catchErr(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
