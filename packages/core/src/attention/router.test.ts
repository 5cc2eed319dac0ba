import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { randomTensor, maxAbsDiff, sliceTokens, concatTokens } from '../testing/conformance.js';
import type { AttentionBackend, AttentionState } from './contract.js';
import type { AttentionCall, AttentionPolicy } from './policy.js';
import { referenceAttention } from './reference.js';
import { createRegistry } from '../plugs/registry.js';
import { AttentionRouter } from './router.js';
import { fakeBackend } from './test-doubles.js';
import { AttentionTrace } from './trace.js';

/** An exact backend that tags its outputs by adding `offset`, so tests can see which backend served which head. */
function taggedBackend(id: string, offset: number, created: string[]): AttentionBackend {
  return fakeBackend(id, {
    async create() {
      created.push(id);
      const tag = (q: Tensor, k: Tensor, v: Tensor, scale: number, mask?: Parameters<typeof referenceAttention>[4]) =>
        new Tensor(
          q.shape,
          Float32Array.from(referenceAttention(q, k, v, scale, mask), (x) => x + offset),
        );
      return {
        backendId: id,
        attend: async (q, k, v, spec) => ({
          output: tag(q as Tensor, k as Tensor, v as Tensor, spec.scale, spec.mask),
        }),
        createState(o): AttentionState {
          const ks: Tensor[] = [];
          const vs: Tensor[] = [];
          return {
            get length() {
              return ks.reduce((s, t) => s + t.shape[2], 0);
            },
            async append(k, v) {
              ks.push(k as Tensor);
              vs.push(v as Tensor);
            },
            async attend(q) {
              return { output: tag(q as Tensor, concatTokens(ks), concatTokens(vs), o.scale) };
            },
            dispose() {},
          };
        },
        dispose: async () => {},
      };
    },
  });
}

const splitPolicy: AttentionPolicy = {
  name: 'split',
  decide: (call) => [
    { heads: [0, 2], backend: 'a', reason: 'even heads' },
    { heads: [1], backend: 'b', reason: 'odd heads' },
  ],
};

describe('attention router', () => {
  it('creates every available backend up front and routes head groups to them', async () => {
    const created: string[] = [];
    const registry = createRegistry();
    registry.register(taggedBackend('a', 0, created));
    registry.register(taggedBackend('b', 100, created));
    const router = await AttentionRouter.create({ registry, policy: splitPolicy });
    expect(created.sort()).toEqual(['a', 'b']);

    const rng = new Rng(1);
    const [q, k, v] = [0, 1, 2].map(() => randomTensor(rng, [2, 3, 5, 4])) as [Tensor, Tensor, Tensor];
    const call: AttentionCall = {
      site: 's',
      batch: 2,
      heads: 3,
      headDim: 4,
      scale: 0.5,
      mask: 'block-causal',
      scaleEnds: [1, 5],
    };
    const trace = new AttentionTrace();
    const out = await router.attend(
      call,
      q,
      k,
      v,
      { scale: 0.5, mask: { kind: 'block-causal', scaleEnds: [1, 5] } },
      trace,
    );
    const ref = referenceAttention(q, k, v, 0.5, { kind: 'block-causal', scaleEnds: [1, 5] });
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 3; h++)
        for (let i = 0; i < 20; i++) {
          const idx = (b * 3 + h) * 20 + i;
          expect(out.data[idx]).toBeCloseTo(ref[idx] + (h === 1 ? 100 : 0), 4);
        }
    expect(trace.entries.map((e) => [e.backend, e.heads, e.reason])).toEqual([
      ['a', [0, 2], 'even heads'],
      ['b', [1], 'odd heads'],
    ]);
    expect(trace.summary()).toEqual({ a: 2, b: 1 });
  });

  it('routes incremental states by head group and records one decision per site', async () => {
    const registry = createRegistry();
    registry.register(taggedBackend('a', 0, []));
    registry.register(taggedBackend('b', 0, []));
    const router = await AttentionRouter.create({ registry, policy: splitPolicy });
    const rng = new Rng(2);
    const [q, k, v] = [0, 1, 2].map(() => randomTensor(rng, [1, 3, 14, 4])) as [Tensor, Tensor, Tensor];
    const ends = [1, 5, 14];
    const trace = new AttentionTrace();
    const st = router.openState(
      { site: 's', batch: 1, heads: 3, headDim: 4, scale: 1, mask: 'block-causal', scaleEnds: ends },
      trace,
    );
    const outs: Tensor[] = [];
    let start = 0;
    for (const end of ends) {
      await st.append(sliceTokens(k, start, end), sliceTokens(v, start, end));
      outs.push(await st.attend(sliceTokens(q, start, end)));
      start = end;
    }
    const ref = referenceAttention(q, k, v, 1, { kind: 'block-causal', scaleEnds: ends });
    expect(maxAbsDiff(concatTokens(outs).data, ref)).toBeLessThan(1e-5);
    expect(trace.entries).toHaveLength(2);
  });

  it('rejects a policy that leaves a head unassigned', async () => {
    const registry = createRegistry();
    registry.register(taggedBackend('a', 0, []));
    const router = await AttentionRouter.create({
      registry,
      policy: { name: 'bad', decide: () => [{ heads: [0], backend: 'a', reason: '' }] },
    });
    expect(() =>
      router.decide({ site: 'x', batch: 1, heads: 2, headDim: 1, scale: 1, mask: 'none', scaleEnds: [1] }),
    ).toThrow(/every head of x/);
  });

  it('passes each backend its own create() options, and rejects options for a backend that is not registered', async () => {
    const registry = createRegistry();
    const received: Record<string, unknown> = {};
    for (const id of ['a', 'b']) {
      const base = taggedBackend(id, 0, []);
      registry.register({ ...base, create: (o) => ((received[id] = o), base.create(o)) });
    }
    await AttentionRouter.create({ registry, backendOptions: { b: { mode: 'x' } } });
    expect(received).toEqual({ a: undefined, b: { mode: 'x' } });
    await expect(AttentionRouter.create({ registry, backendOptions: { gpu: { mode: 'webgpu' } } })).rejects.toThrow(
      "backendOptions names backend 'gpu', which is not registered (registered: a, b)",
    );
  });
});
