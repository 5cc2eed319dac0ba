import { describe, expect, it } from 'vitest';
import { loadStateDict } from '../weights/load.js';
import { fixture } from '../weights/fixture-paths.test-support.js';
import { createPolicy, normPolicy } from './norm-policy.js';
import type { AttentionCall, HeadBound } from './policy.js';
import { rankFor } from './polynomial.js';
import type { AvailableBackend } from '../plugs/registry.js';
import { fakeBackend } from './test-doubles.js';

function avail(id: string, over: { available?: boolean; exact?: boolean; priority?: number } = {}): AvailableBackend {
  return {
    descriptor: fakeBackend(id, { exact: over.exact ?? true, priority: over.priority ?? 1 }),
    probe: {
      available: over.available ?? true,
      reason: over.available === false ? `${id} cannot run here (no worker threads)` : 'ok',
    },
  };
}
const cpu = avail('cpu', { priority: 10 });
const gpu = avail('gpu', { priority: 20 });
const lowrank = avail('lowrank', { exact: false, priority: 1 });

const ends = (pns: number[]) => pns.reduce<number[]>((a, p) => [...a, (a[a.length - 1] ?? 0) + p * p], []);
const doubling = (n: number) => ends(Array.from({ length: Math.log2(n) + 1 }, (_, i) => 2 ** i));
const l2 = (betas: number[]): HeadBound[] => betas.map((beta) => ({ beta, source: 'l2-static' }));

function call(over: Partial<AttentionCall>): AttentionCall {
  return {
    site: 'var.blocks.0.attn',
    layer: 0,
    batch: 2,
    heads: 4,
    headDim: 16,
    scale: 1,
    mask: 'block-causal',
    scaleEnds: doubling(64),
    ...over,
  };
}

function assignedOnce(groups: { heads: number[] }[], H: number) {
  expect(groups.flatMap((g) => g.heads).sort((a, b) => a - b)).toEqual(Array.from({ length: H }, (_, h) => h));
}

describe('norm policy', () => {
  it('released-shaped VAR-256 (d = 64, scale_mul = ln 4 → β = 4, L = 680): exact for every head, critical regime', () => {
    const H = 16;
    const c = call({
      heads: H,
      headDim: 64,
      scaleEnds: ends([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]),
      headBounds: l2(Array(H).fill(Math.exp(Math.log(4)))),
    });
    const groups = normPolicy().decide(c, [cpu, lowrank]);
    assignedOnce(groups, H);
    expect(groups).toHaveLength(1);
    const g = groups[0];
    expect(g.backend).toBe('cpu');
    expect(g.regime).toBe('critical');
    expect(g.beta).toBeCloseTo(4, 12);
    expect(g.reason).toMatch(/^exact \(cpu\): critical regime \(beta = 4, l2-static/);
    expect(g.reason).toMatch(/rank\/memory cap: rank cap: degree 3 would need rank 47905 > rMax 5000/);
  });

  it('tiny fixture checkpoint (d = 16, β = exp(min(scale_mul, ln 100)) ≈ 4 at init, L = 30): exact with the critical-regime reason', async () => {
    const sd = await loadStateDict(fixture('var.safetensors'));
    for (const layer of [0, 1]) {
      const sm = sd.tensors.get(`blocks.${layer}.attn.scale_mul_1H11`)!;
      const betas = Array.from(sm.data, (s) => Math.exp(Math.min(s, Math.log(100))));
      for (const b of betas) expect(b).toBeGreaterThan(3.5);
      const c = call({ layer, heads: betas.length, headDim: 16, scaleEnds: ends([1, 2, 3, 4]), headBounds: l2(betas) });
      const groups = normPolicy().decide(c, [cpu, lowrank]);
      assignedOnce(groups, betas.length);
      for (const g of groups) {
        expect(g.backend).toBe('cpu');
        expect(g.regime).toBe('critical');
        expect(g.reason).toMatch(/beta >= ln L \(critical regime\): beta = \d\.\d+ \(l2-static\) >= ln 30 = 3\.4/);
      }
    }
  });

  it('d = 16, β = 0.25, doubling pyramid n = 64: lowrank with degree, rank and error bound', () => {
    const groups = normPolicy().decide(call({ headBounds: l2([0.25, 0.25, 0.25, 0.25]) }), [cpu, lowrank]);
    expect(groups).toHaveLength(1);
    const g = groups[0];
    expect(g.backend).toBe('lowrank');
    expect(g.heads).toEqual([0, 1, 2, 3]);
    expect(g.regime).toBe('subcritical');
    expect(g.degree).toBeGreaterThanOrEqual(1);
    expect(g.rank).toBe(rankFor(16, g.degree!));
    expect(g.errBound).toBeGreaterThan(0);
    expect(g.errBound).toBeLessThanOrEqual(1e-2);
    expect(g.estCostLowrank! / g.estCostExact!).toBeLessThan(0.5);
    expect(g.reason).toMatch(
      /^lowrank: beta = 0\.25 \(l2-static\) < ln L = 8\.61; minimax-rel degree \d certifies δ = .* ≤ .*\(ε = 0\.01, value range 1\), rank \d+; C_lr = .* ≤ κ·C_ex/,
    );
  });

  it('not-installed or unavailable lowrank → exact, and the reason says so', () => {
    const notInstalled = normPolicy().decide(call({ headBounds: l2([0.25, 0.25, 0.25, 0.25]) }), [cpu]);
    expect(notInstalled.map((g) => g.backend)).toEqual(['cpu']);
    expect(notInstalled[0].reason).toMatch(
      /low-rank backend "lowrank" is not installed \(install @nextscale\/backend-lowrank/,
    );
    expect(notInstalled[0].degree).toBeGreaterThanOrEqual(1); // it still reports what low-rank would have done
    const unavailable = normPolicy().decide(call({ headBounds: l2([0.25, 0.25, 0.25, 0.25]) }), [
      cpu,
      avail('lowrank', { exact: false, available: false }),
    ]);
    expect(unavailable[0].backend).toBe('cpu');
    expect(unavailable[0].reason).toMatch(/is unavailable: lowrank cannot run here/);
  });

  it('sends exact work to the best available exact backend by priority', () => {
    const groups = normPolicy().decide(call({ headBounds: l2([4, 4, 4, 4]) }), [cpu, gpu, lowrank]);
    expect(groups.map((g) => g.backend)).toEqual(['gpu']);
    expect(() => normPolicy().decide(call({ headBounds: l2([4, 4, 4, 4]) }), [lowrank])).toThrow(
      /no attention backend available/,
    );
  });

  it('heads without a static bound: exact, the bound is unknown a priori, unless a cap is configured', () => {
    const unknown = normPolicy().decide(call({}), [cpu, lowrank]);
    expect(unknown).toHaveLength(1);
    expect(unknown[0].backend).toBe('cpu');
    expect(unknown[0].reason).toMatch(/logit bound unknown a priori \(heads are not l2-normalised/);
    const capped = normPolicy({ betaCap: 0.25 }).decide(call({}), [cpu, lowrank]);
    expect(capped[0].backend).toBe('lowrank');
    expect(capped[0].betaSource).toBe('cap');
  });

  it('groups heads with the same decision; a group reports the max β of its heads', () => {
    const groups = normPolicy().decide(call({ headBounds: l2([0.25, 4, 0.2, 9]) }), [cpu, lowrank]);
    assignedOnce(groups, 4);
    const lr = groups.find((g) => g.backend === 'lowrank')!;
    expect(lr.heads).toEqual([0, 2]);
    expect(lr.beta).toBe(0.25);
    const critical = groups.find((g) => g.heads.includes(3))!;
    expect(critical.reason).toMatch(/beta >= ln L/);
    const capped = groups.find((g) => g.heads.includes(1))!;
    expect(capped.backend).toBe('cpu');
    expect(capped.regime).toBe('critical');
    expect(capped.reason).toMatch(/rank\/memory cap/);
  });

  it('refuses when low-rank is not profitable (VAR-tiny pyramid, d = 4, β = 0.25)', () => {
    const g = normPolicy().decide(
      call({ headDim: 4, scaleEnds: ends([1, 2, 3, 4]), headBounds: l2([0.25, 0.25, 0.25, 0.25]) }),
      [cpu, lowrank],
    );
    expect(g).toHaveLength(1);
    expect(g[0].backend).toBe('cpu');
    expect(g[0].regime).toBe('subcritical');
    expect(g[0].reason).toMatch(/not profitable: C_lr = .* > κ·C_ex = 0\.5·/);
    // κ large enough makes it profitable
    expect(
      normPolicy({ kappa: 2 }).decide(
        call({ headDim: 4, scaleEnds: ends([1, 2, 3, 4]), headBounds: l2([0.25, 0.25, 0.25, 0.25]) }),
        [cpu, lowrank],
      )[0].backend,
    ).toBe('lowrank');
  });

  it('refuses when the state would outgrow the KV cache (d = 64, β = 0.25, ε = 1e-3, VAR-256)', () => {
    const g = normPolicy({ epsilon: 1e-3 }).decide(
      call({
        headDim: 64,
        scaleEnds: ends([1, 2, 3, 4, 5, 6, 8, 10, 13, 16]),
        headBounds: l2([0.25, 0.25, 0.25, 0.25]),
      }),
      [cpu, lowrank],
    );
    expect(g[0].backend).toBe('cpu');
    expect(g[0].regime).toBe('critical');
    expect(g[0].reason).toMatch(/rank\/memory cap: state r·\(d\+1\) = 139425 floats > KV cache 2·L·d = 87040/);
  });

  it('honours the degree cap', () => {
    const g = normPolicy({ gMax: 1 }).decide(call({ headBounds: l2([1, 1, 1, 1]) }), [cpu, lowrank]);
    expect(g[0].backend).toBe('cpu');
    expect(g[0].reason).toMatch(/degree cap: no minimax-rel degree ≤ gMax 1/);
  });

  it('decides the non-causal decoder attention with the n·r·(2d+3) cost model', () => {
    const g = normPolicy().decide(
      call({ mask: 'none', scaleEnds: [4096], heads: 1, headDim: 16, headBounds: l2([0.25]) }),
      [cpu, lowrank],
    );
    expect(g[0].backend).toBe('lowrank');
    expect(g[0].estCostExact).toBe(4096 * 4096 * 33);
    expect(g[0].estCostLowrank).toBe(4096 * g[0].rank! * 35);
  });
});

describe('createPolicy', () => {
  it('builds explicit, priority and norm policies by name', () => {
    const c = call({ headBounds: l2([0.25, 0.25, 0.25, 0.25]) });
    expect(createPolicy({ name: 'explicit', backend: 'cpu' }).decide(c, [cpu])[0].backend).toBe('cpu');
    expect(createPolicy({ name: 'priority' }).decide(c, [cpu, gpu])[0].backend).toBe('gpu');
    expect(createPolicy({ name: 'priority', order: ['cpu', 'gpu'] }).decide(c, [cpu, gpu])[0].backend).toBe('cpu');
    const norm = createPolicy({ name: 'norm', epsilon: 1e-3, kappa: 0.5 });
    expect(norm.name).toBe('norm');
    expect(norm.decide(c, [cpu, lowrank])[0].backend).toBe('lowrank');
    expect(() => createPolicy({ name: 'fastest' } as never)).toThrow(
      /unknown attention policy "fastest" \(known: explicit, priority, norm\)/,
    );
  });
});
