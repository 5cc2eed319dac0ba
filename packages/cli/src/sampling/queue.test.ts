import { describe, expect, it } from 'vitest';
import { describeError } from '../errors.js';
import {
  jobDataOf,
  jobIdOf,
  jobPlanProblem,
  parseJobData,
  parseQueueName,
  parseQueueUrl,
  planDigest,
  redactUrl,
  setIdOf,
  stallMsFrom,
  DEFAULT_STALL_MS,
} from './queue.js';
import { checkResult } from './results.js';
import { planSet } from './plan.js';
import { refusalReasons } from './worker.js';
import type { SetIdentity } from './manifest.js';

const identity = (cfg: number): SetIdentity => ({
  model: {
    var: { path: '/m/var', sha256: 'a'.repeat(64), bytes: 1 },
    vae: { path: '/m/vae', sha256: 'b'.repeat(64), bytes: 2 },
  },
  settings: {
    perClass: 2,
    classes: [0, 1],
    seed: 0,
    cfg,
    topK: 900,
    topP: 0.96,
    moreSmooth: false,
    patchNums: [1, 2],
    policy: 'norm',
    backend: null,
    epsilon: null,
  },
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
    for (const bad of ['h:1', 'http://h:1', ''])
      expect(describeError(catchErr(() => parseQueueUrl(bad))).exitCode).toBe(2);
    expect(describeError(catchErr(() => parseQueueName('a:b'))).exitCode).toBe(2);
    expect(stallMsFrom(undefined, {})).toBe(DEFAULT_STALL_MS);
    expect(stallMsFrom(undefined, { NEXTSCALE_STALL_MS: '1500' })).toBe(1500);
    expect(stallMsFrom('2000', { NEXTSCALE_STALL_MS: '1500' })).toBe(2000);
    expect(describeError(catchErr(() => stallMsFrom('10', {}))).line).toMatch(
      /^--stall-ms expects an integer of at least 500/,
    );
    expect(describeError(catchErr(() => stallMsFrom(undefined, { NEXTSCALE_STALL_MS: 'x' }))).line).toMatch(
      /^NEXTSCALE_STALL_MS expects/,
    );
  });

  it('a worker names each difference between its model and the set', () => {
    const set = identity(1.5);
    const mine = { files: set.model, render: { ...set.settings } };
    const data = { setId: 's', digest: '', model: set.model, settings: set.settings, images: [] };
    expect(refusalReasons(mine, data)).toEqual([]);
    const other = {
      ...mine,
      files: { ...set.model, vae: { path: '/x/vae', sha256: 'c'.repeat(64), bytes: 2 } },
      render: { ...set.settings, patchNums: [1, 3] },
    };
    expect(refusalReasons(other, data)).toEqual([
      "VQ-VAE file /x/vae has sha256 cccccccccccc…, the set's has bbbbbbbbbbbb…",
      'patch sizes [1,3] here, [1,2] in the set',
    ]);
  });
});

describe('what a job and a result must be', () => {
  const data = jobDataOf(identity(1.5), planSet([0, 1], 2, 0).slice(1, 3));

  it('a job is checked against its digest, its set id and its own plan', () => {
    expect(jobPlanProblem(data)).toBeUndefined();
    expect(parseJobData(JSON.stringify(data))).toEqual(data);
    expect(parseJobData('{"images": 5')).toBe('its data is not JSON');
    expect(parseJobData('{"images": 5}')).toBe('its data has no set id or digest');
    const cfg9 = { ...data, settings: { ...data.settings, cfg: 9 } };
    expect(jobPlanProblem(cfg9)).toBe('its plan does not match its digest');
    expect(jobPlanProblem({ ...cfg9, digest: planDigest(cfg9.model, cfg9.settings, cfg9.images) })).toBe(
      'its settings do not match its set id',
    );
    const reseeded = { ...data, images: [{ ...data.images[0], seed: 1 }] };
    expect(
      jobPlanProblem({ ...reseeded, digest: planDigest(reseeded.model, reseeded.settings, reseeded.images) }),
    ).toMatch(/is not the one its set plans at position 1/);
  });

  it("a result must echo the digest and hold only the plan's names", () => {
    const files = data.images.map((p) => p.file);
    expect(checkResult('nope', { digest: data.digest, files }, 32).problems).toEqual(['its result is not JSON']);
    expect(
      checkResult(JSON.stringify({ digest: 'x', images: [] }), { digest: data.digest, files }, 32).problems[0],
    ).toMatch(/another plan/);
    const r = checkResult(
      JSON.stringify({
        digest: data.digest,
        images: [
          { file: '../x.png', png: '' },
          { file: files[0], png: 'aGVsbG8=' },
        ],
      }),
      { digest: data.digest, files },
      32,
    );
    expect(r.good).toEqual([]);
    expect(r.problems).toEqual([
      'it returned "../x.png", which it was not asked for',
      `${files[0]}: not a PNG`,
      `${files[1]} missing`,
    ]);
  });

  it('passwords are never shown', () => {
    expect(redactUrl('redis://u:secret@h:1/2')).toBe('redis://u:***@h:1/2');
    expect(redactUrl('rediss://:secret@h')).toBe('rediss://:***@h');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
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
