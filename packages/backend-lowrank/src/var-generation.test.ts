/**
 * End to end (issue 4): a VAR whose l2-normalised heads have a small learned scale (head dim 16,
 * scale_mul = ln 0.25, so β = 0.25 for every head) on a pyramid large enough that the norm policy's
 * own cost model picks low-rank. Generation through the router records the decisions and a certificate
 * for every scale computed low-rank, and every low-rank call's measured error against exact float64
 * attention on the same inputs stays within that call's certificate. End-to-end composition is not
 * certified (docs/theory.md §4), so the logit difference between the runs is reported only.
 * Released-shaped heads (d = 64, β = 4) and the tiny fixture stay exact, with a reason.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRegistry,
  loadVAR,
  normPolicy,
  priorityPolicy,
  VARModel,
  type AttentionBackend,
  type AttentionCall,
  type AttentionCertificate,
  type AttentionInstance,
  type AttentionMask,
  type AttentionResult,
  type AttentionState,
  type TensorLike,
  type TraceEntry,
} from '@nextscale/core';
import { referenceAttention } from '@nextscale/core/attention';
import {
  randomVARStateDict,
  randomVQVAEStateDict,
  releasedVARSpec,
  scaleEnds,
  type RandomVARSpec,
  type VQVAEConfig,
} from '@nextscale/core/models';
import { exactTestBackend } from '@nextscale/core/testing';
import { backend as lowrankBackend } from './backend.js';

/**
 * An exact backend under backend-cpu's id and priority (core's float64 reference attention): the policies below
 * choose between "an exact backend" and low-rank, and this package does not import another backend.
 */
const cpuBackend: AttentionBackend = {
  ...exactTestBackend,
  id: 'cpu',
  package: '@nextscale/core/testing',
  priority: 10,
};

const RELEASED_256 = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const HEAD_DIM = 16;
const HEADS = 2;
const BETA = 0.25;

interface Checked {
  where: 'state' | 'attend';
  scale?: number;
  measured: number;
  bound: number;
  certificate: AttentionCertificate;
}

/** max |a − b| with NaN counted as +∞. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Math.max(m, Number.isNaN(d) ? Infinity : d);
  }
  return m;
}

/** Appends (B, H, n, d) chunks along the token axis. */
class Prefix {
  private parts: Float32Array[] = [];
  private n = 0;
  constructor(
    private readonly BH: number,
    private readonly d: number,
  ) {}
  add(t: TensorLike): void {
    this.parts.push(Float32Array.from(t.data));
    this.n += t.shape[2];
  }
  tensor(): TensorLike {
    const { BH, d, n } = this;
    const out = new Float32Array(BH * n * d);
    let off = 0;
    for (const p of this.parts) {
      const m = p.length / (BH * d);
      for (let bh = 0; bh < BH; bh++) out.set(p.subarray(bh * m * d, (bh + 1) * m * d), (bh * n + off) * d);
      off += m;
    }
    return { shape: [BH, 1, n, d], data: out };
  }
}

/**
 * The lowrank backend with every call checked against exact float64 attention on the very inputs the
 * backend saw: certified results within their errBoundMax, exact-reason results to float32 accuracy.
 */
function checkingLowrank(checked: Checked[], exactDiffs: number[]): AttentionBackend {
  const check = (result: AttentionResult, exact: Float64Array, where: Checked['where'], scale?: number) => {
    const measured = maxAbsDiff(result.output.data, exact);
    if (result.certificate)
      checked.push({ where, scale, measured, bound: result.certificate.errBoundMax, certificate: result.certificate });
    else exactDiffs.push(measured);
  };
  return {
    ...lowrankBackend,
    async create(options) {
      const inner: AttentionInstance = await lowrankBackend.create(options);
      return {
        backendId: inner.backendId,
        async attend(q, k, v, spec) {
          const result = await inner.attend(q, k, v, spec);
          check(result, referenceAttention(q, k, v, spec.scale, spec.mask as AttentionMask | undefined), 'attend');
          return result;
        },
        createState(o) {
          const state: AttentionState = inner.createState(o);
          const BH = o.batch * o.heads;
          const keys = new Prefix(BH, o.headDim);
          const values = new Prefix(BH, o.headDim);
          let scale = 0;
          return {
            get length() {
              return state.length;
            },
            async append(k, v) {
              keys.add(k);
              values.add(v);
              await state.append(k, v);
            },
            async attend(q) {
              const s = scale++;
              const result = await state.attend(q);
              // The state holds exactly the keys of scales ≤ s: no mask needed.
              const nq = q.shape[2];
              const qq = { shape: [BH, 1, nq, o.headDim], data: q.data };
              check(result, referenceAttention(qq, keys.tensor(), values.tensor(), o.scale), 'state', s);
              return result;
            },
            dispose: () => state.dispose(),
          };
        },
        dispose: () => inner.dispose(),
      };
    },
  };
}

const l2Bounds = (betas: number[]) => betas.map((beta) => ({ beta, source: 'l2-static' as const }));
function policyCall(patchNums: number[], headDim: number, betas: number[]): AttentionCall {
  return {
    site: 'var.blocks.0.attn',
    layer: 0,
    batch: 2,
    heads: betas.length,
    headDim,
    scale: 1,
    mask: 'block-causal',
    scaleEnds: scaleEnds(patchNums),
    headBounds: l2Bounds(betas),
  };
}

async function available(ids: ('cpu' | 'lowrank')[]) {
  const r = createRegistry();
  if (ids.includes('cpu')) r.register(cpuBackend);
  if (ids.includes('lowrank')) r.register(lowrankBackend);
  return r.probeAll();
}

/** The smallest candidate schedule (by L) on which the norm policy sends β = 0.25, d = 16 heads to low-rank. */
async function smallestLowrankSchedule(): Promise<number[]> {
  const avail = await available(['cpu', 'lowrank']);
  const candidates = [
    ...RELEASED_256.map((_, i) => RELEASED_256.slice(0, i + 1)),
    ...[1, 2, 3, 4, 5, 6].map((n) => Array.from({ length: n + 1 }, (_, i) => 2 ** i)),
  ].sort((a, b) => scaleEnds(a).at(-1)! - scaleEnds(b).at(-1)!);
  for (const pn of candidates) {
    const groups = normPolicy().decide(policyCall(pn, HEAD_DIM, Array(HEADS).fill(BETA)), avail);
    if (groups.every((g) => g.backend === 'lowrank')) return pn;
  }
  throw new Error('no candidate schedule makes the norm policy choose low-rank');
}

describe('norm policy decisions without weights', () => {
  it('β = 0.25, d = 16: the smallest schedule that goes low-rank is the released 256-px one (L = 680); shorter ones are "not profitable"', async () => {
    const pn = await smallestLowrankSchedule();
    expect(pn).toEqual(RELEASED_256);
    const avail = await available(['cpu', 'lowrank']);
    const [g] = normPolicy().decide(policyCall(pn, HEAD_DIM, Array(HEADS).fill(BETA)), avail);
    expect(g).toMatchObject({
      backend: 'lowrank',
      regime: 'subcritical',
      degree: 2,
      rank: 153,
      betaSource: 'l2-static',
    });
    expect(g!.errBound).toBeGreaterThan(0);
    expect(g!.errBound).toBeLessThanOrEqual(1e-2);
    expect(g!.reason).toMatch(
      /^lowrank: beta = 0\.25 \(l2-static\) < ln L = 6\.5.*degree 2 certifies.*C_lr = .* ≤ κ·C_ex/,
    );
    const shorter = normPolicy().decide(policyCall(RELEASED_256.slice(0, 9), HEAD_DIM, Array(HEADS).fill(BETA)), avail);
    expect(shorter.map((s) => s.backend)).toEqual(['cpu']);
    expect(shorter[0].reason).toMatch(/^exact \(cpu\): not profitable/);
  });

  it('released-shaped d16 (d = 64, scale_mul = ln 4 → β = 4, L = 680): exact for every head, with a reason', async () => {
    const spec = releasedVARSpec(16);
    const beta = Math.exp(Math.min(spec.scaleMul as number, Math.log(100)));
    expect(beta).toBeCloseTo(4, 12);
    const groups = normPolicy().decide(
      policyCall(spec.patchNums as number[], spec.C / spec.heads, Array(spec.heads).fill(beta)),
      await available(['cpu', 'lowrank']),
    );
    expect(groups.flatMap((g) => g.heads).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, h) => h));
    for (const g of groups) {
      expect(g.backend).toBe('cpu');
      expect(g.regime).toBe('critical');
      expect(g.reason).toMatch(/^exact \(cpu\): critical regime \(beta = 4, l2-static.*rank\/memory cap/);
    }
  });
});

describe('tiny fixture through the norm policy', () => {
  const dir = fileURLToPath(new URL('../../core/fixtures/var-tiny/', import.meta.url));

  it('every head of both blocks is exact (critical regime, β ≈ 4 ≥ ln 30), with a reason and no certificate', async () => {
    const registry = createRegistry();
    registry.register(cpuBackend);
    registry.register(lowrankBackend);
    const model = await loadVAR({
      var: `${dir}var.safetensors`,
      vae: `${dir}vae.safetensors`,
      registry,
      policy: normPolicy(),
    });
    try {
      expect(model.config.patchNums).toEqual([1, 2, 3, 4]);
      const { trace } = await model.generate({ labels: [3], seed: 0 });
      const decisions = trace.entries.filter((e) => e.site.startsWith('var.') && e.scale === undefined);
      expect(decisions.map((e) => e.site).sort()).toEqual(['var.blocks.0.attn', 'var.blocks.1.attn']);
      expect(decisions.flatMap((e) => e.heads)).toHaveLength(2 * model.config.numHeads);
      for (const e of decisions) {
        expect(e.backend).toBe('cpu');
        expect(e.reason).toMatch(
          /^exact \(cpu\): beta >= ln L \(critical regime\): beta = \d\.\d+ \(l2-static\) >= ln 30/,
        );
      }
      expect(trace.entries.some((e) => e.certificate)).toBe(false);
      expect(trace.maxCertifiedError).toBe(0);
    } finally {
      await model.dispose();
    }
  });
});

describe('a VAR with β = 0.25 heads (d = 16) on the 680-token pyramid', async () => {
  const patchNums = await smallestLowrankSchedule();
  const spec: RandomVARSpec = {
    depth: 2,
    C: HEADS * HEAD_DIM,
    heads: HEADS,
    cvae: 4,
    vocab: 32,
    numClasses: 4,
    mlpHidden: 4 * HEADS * HEAD_DIM,
    patchNums,
    sharedAdaLN: false,
    l2Norm: true,
    scaleMul: Math.log(BETA),
  };
  // Latent side = the last patch size (16); one down-sampling level gives 32 × 32 images.
  const vaeConfig: VQVAEConfig = {
    vocabSize: spec.vocab,
    Cvae: spec.cvae,
    ch: 32,
    chMult: [1, 2],
    numResBlocks: 1,
    usingSa: true,
    usingMidSa: true,
    shareQuantResi: 4,
    numPhi: 4,
    quantResi: 0.5,
    numScales: patchNums.length,
    inChannels: 3,
  };
  const varSd = { tensors: randomVARStateDict(spec, 11), metadata: { patch_nums: JSON.stringify(patchNums) } };
  const vaeSd = { tensors: randomVQVAEStateDict(vaeConfig, 12) };

  const checked: Checked[] = [];
  const exactDiffs: number[] = [];
  const regA = createRegistry();
  regA.register(cpuBackend);
  regA.register(checkingLowrank(checked, exactDiffs));
  const regB = createRegistry();
  regB.register(cpuBackend);
  const lowrank = await VARModel.fromStateDicts(varSd, vaeSd, { registry: regA, policy: normPolicy() });
  const exact = await VARModel.fromStateDicts(varSd, vaeSd, { registry: regB, policy: priorityPolicy() });
  afterAll(async () => {
    await lowrank.dispose();
    await exact.dispose();
  });

  const options = { labels: [2], cfg: 1.5, topK: 900, topP: 0.96, seed: 5 };
  const runs = (async () => {
    const a = await lowrank.generate(options);
    const stateChecks = checked.filter((c) => c.where === 'state');
    const b = await exact.generate(options);
    return { a, b, stateChecks: [...stateChecks] };
  })();

  it('the model has the intended heads', () => {
    expect(lowrank.config).toMatchObject({ headDim: 16, numHeads: 2, attnL2Norm: true, tokenCount: 680 });
    const qScale = lowrank.transformer.weights.blocks.map((b) => Array.from(b.qScale!));
    for (const s of qScale.flat()) expect(s).toBeCloseTo(BETA, 6);
  });

  it('(a) records a low-rank decision per block, with reason, degree, rank and a-priori bound', async () => {
    const { a } = await runs;
    const decisions = a.trace.entries.filter((e) => e.site.startsWith('var.') && e.scale === undefined);
    expect(decisions.map((e) => e.site)).toEqual(['var.blocks.0.attn', 'var.blocks.1.attn']);
    for (const e of decisions) {
      expect(e).toMatchObject({
        backend: 'lowrank',
        policy: 'norm',
        heads: [0, 1],
        degree: 2,
        rank: 153,
        regime: 'subcritical',
        betaSource: 'l2-static',
      });
      expect(e.beta).toBeCloseTo(BETA, 6);
      expect(e.reason).toMatch(/^lowrank: beta = 0\.25/);
      expect(Number.isFinite(e.errBound)).toBe(true);
    }
  });

  it('(a) has a certificate for every scale computed low-rank and a stated reason for every scale computed exactly', async () => {
    const { a, stateChecks } = await runs;
    const perScale = a.trace.entries.filter(
      (e): e is TraceEntry & { scale: number } => e.site.startsWith('var.') && e.scale !== undefined,
    );
    const certified = perScale.filter((e) => e.certificate);
    const exactScales = perScale.filter((e) => !e.certificate);
    // Every one of the 10 scales of both blocks is reported one way or the other.
    expect(perScale).toHaveLength(2 * patchNums.length);
    expect(new Set(perScale.map((e) => `${e.layer}:${e.scale}`)).size).toBe(2 * patchNums.length);
    for (const layer of [0, 1])
      expect(certified.filter((e) => e.layer === layer).length, `layer ${layer}`).toBeGreaterThan(0);
    for (const e of exactScales) expect(e.exactReason).toMatch(/^scale \d+: /);
    for (const e of certified) {
      const c = e.certificate!;
      expect(c.backend).toBe('lowrank');
      expect(c.betaSource).toBe('l2-static');
      expect(c.beta).toBeCloseTo(BETA, 6);
      expect(Number.isFinite(c.errBoundMax)).toBe(true);
      expect(c.errBoundMax).toBeGreaterThan(0);
      expect(e.certifiedError).toBe(c.errBoundMax);
      expect(c.degree).toBeGreaterThanOrEqual(2);
      expect(c.rank).toBeGreaterThan(0);
      expect(c.guardTripped).toBe(false);
    }
    // The wrapper saw exactly the certified calls the trace reports.
    expect(stateChecks.map((c) => c.certificate.errBoundMax).sort()).toEqual(
      certified.map((e) => e.certificate!.errBoundMax).sort(),
    );
    expect(a.trace.maxCertifiedError).toBe(Math.max(...certified.map((e) => e.certificate!.errBoundMax)));
  });

  it('every low-rank call is within its certificate against exact float64 attention on the same inputs', async () => {
    const { stateChecks } = await runs;
    expect(stateChecks.length).toBeGreaterThan(0);
    for (const c of stateChecks)
      expect(c.measured, `scale ${c.scale}: measured vs errBoundMax`).toBeLessThanOrEqual(c.bound);
    // The low-rank outputs really are approximations (a wrapper comparing exact with exact would see ~1e-7).
    expect(Math.max(...stateChecks.map((c) => c.measured))).toBeGreaterThan(1e-6);
    // Scales the backend computed exactly are exact to float32 accuracy.
    expect(exactDiffs.length).toBeGreaterThan(0);
    expect(Math.max(...exactDiffs)).toBeLessThan(1e-5);
    const rows = stateChecks.map(
      (c) =>
        `scale ${c.scale}: measured ${c.measured.toExponential(2)} ≤ bound ${c.bound.toExponential(2)} (degree ${c.certificate.degree}, rank ${c.certificate.rank})`,
    );
    console.log(`low-rank state calls (${stateChecks.length}):\n  ${rows.join('\n  ')}`);
  });

  it('(b) cpu only with the priority policy: exact everywhere, no certificates', async () => {
    const { b } = await runs;
    const decisions = b.trace.entries.filter((e) => e.scale === undefined);
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.every((e) => e.backend === 'cpu')).toBe(true);
    expect(b.trace.entries.some((e) => e.certificate)).toBe(false);
    expect(b.tokens.map((t) => t.length)).toEqual(patchNums.map((p) => p * p));
    expect(b.images.shape).toEqual([1, 3, 32, 32]);
  });

  it('teacher forcing on the tokens of (b): low-rank vs exact logits (reported; composition is not certified)', async () => {
    const { a, b } = await runs;
    const before = checked.length;
    const xBLCv = await exact.vae.model.quantizer.idxToVarInput(b.tokens, 1);
    const la = await lowrank.forward(options.labels, xBLCv);
    const lb = await exact.forward(options.labels, xBLCv);
    const forwardChecks = checked.slice(before);
    // One-shot low-rank calls (full 680-token block-causal attention) are within their certificates too.
    for (const c of forwardChecks) expect(c.measured).toBeLessThanOrEqual(c.bound);
    const diff = maxAbsDiff(la.data, lb.data);
    expect(Number.isFinite(diff)).toBe(true);
    if (forwardChecks.length) expect(diff).toBeGreaterThan(0);
    let maxLogit = 0;
    for (const v of lb.data) maxLogit = Math.max(maxLogit, Math.abs(v));
    const sameTokens = a.tokens.filter((t, i) => t.every((v, j) => v === b.tokens[i][j])).length;
    console.log(
      `teacher forcing: max |logits(lowrank) − logits(exact)| = ${diff.toExponential(3)} (max |logit| ${maxLogit.toFixed(2)}); ` +
        `${forwardChecks.length} certified one-shot calls, max bound ${Math.max(0, ...forwardChecks.map((c) => c.bound)).toExponential(2)}; ` +
        `sampled token maps identical in ${sameTokens}/${patchNums.length} scales`,
    );
  });
});
