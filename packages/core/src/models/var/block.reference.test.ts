/**
 * Shapes the fixture does not cover (shared AdaLN, scaled dot-product attention with 0.25/√hd, several
 * blocks, a 7-scale schedule) checked against a plain float64 re-statement of docs/var-port.md §4
 * written here from the spec, reading the raw state-dict keys (not the model's gathered weights).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../tensor.js';
import {
  exactContext,
  maxAbsDiff,
  randomVARStateDict,
  SHARED_ADALN_PLAIN_ATTN_SPEC,
  type RandomVARSpec,
} from './test-support.js';
import { VARTransformer } from './var-transformer.js';

const base = SHARED_ADALN_PLAIN_ATTN_SPEC;

type SD = Map<string, Tensor>;
const linear = (sd: SD, w: string, b: string | null, x: number[]): number[] => {
  const W = sd.get(w)!;
  const [out, inp] = W.shape as [number, number];
  return Array.from({ length: out }, (_, o) => {
    let s = b ? sd.get(b)!.data[o] : 0;
    for (let i = 0; i < inp; i++) s += W.data[o * inp + i] * x[i];
    return s;
  });
};
const silu = (x: number[]) => x.map((v) => v / (1 + Math.exp(-v)));
const gelu = (x: number[]) => x.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
const ln = (x: number[]) => {
  const mu = x.reduce((a, b) => a + b, 0) / x.length;
  const vr = x.reduce((a, b) => a + (b - mu) ** 2, 0) / x.length;
  return x.map((v) => (v - mu) / Math.sqrt(vr + 1e-6));
};

/** Block `i` on one sample's tokens (rows of length C), float64. */
function naiveBlock(sd: SD, s: RandomVARSpec, i: number, x: number[][], label: number): number[][] {
  const C = s.C;
  const H = s.heads;
  const hd = C / H;
  const p = `blocks.${i}.`;
  const cond = Array.from(sd.get('class_emb.weight')!.data.subarray(label * C, (label + 1) * C));
  const m = s.sharedAdaLN
    ? linear(sd, 'shared_ada_lin.1.weight', 'shared_ada_lin.1.bias', silu(cond)).map(
        (v, j) => v + sd.get(`${p}ada_gss`)!.data[j],
      )
    : linear(sd, `${p}ada_lin.1.weight`, `${p}ada_lin.1.bias`, silu(cond));
  const chunk = (k: number) => m.slice(k * C, (k + 1) * C);
  const [gamma1, gamma2, scale1, scale2, shift1, shift2] = [0, 1, 2, 3, 4, 5].map(chunk) as number[][];
  const mod = (row: number[], sc: number[], sh: number[]) => ln(row).map((v, c) => v * (1 + sc[c]) + sh[c]);
  const levels = s.patchNums.flatMap((pn, k) => new Array<number>(pn * pn).fill(k));
  const qkvBias = [
    ...sd.get(`${p}attn.q_bias`)!.data,
    ...new Array<number>(C).fill(0),
    ...sd.get(`${p}attn.v_bias`)!.data,
  ];
  const qkv = x.map((row) =>
    linear(sd, `${p}attn.mat_qkv.weight`, null, mod(row, scale1!, shift1!)).map((v, j) => v + qkvBias[j]),
  );
  const attnRows = x.map(() => new Array<number>(C).fill(0));
  for (let h = 0; h < H; h++) {
    const part = (t: number, sIdx: number) => qkv[t].slice(sIdx * C + h * hd, sIdx * C + (h + 1) * hd);
    const norm = (v: number[]) => {
      const n = Math.max(Math.hypot(...v), 1e-12);
      return v.map((a) => a / n);
    };
    const mul = s.l2Norm ? Math.exp(Math.min(sd.get(`${p}attn.scale_mul_1H11`)!.data[h], Math.log(100))) : 1;
    const scale = s.l2Norm ? 1 : 0.25 / Math.sqrt(hd);
    const q = x.map((_, t) => (s.l2Norm ? norm(part(t, 0)).map((a) => a * mul) : part(t, 0)));
    const k = x.map((_, t) => (s.l2Norm ? norm(part(t, 1)) : part(t, 1)));
    const v = x.map((_, t) => part(t, 2));
    for (let t = 0; t < x.length; t++) {
      const visible = x.map((_, j) => j).filter((j) => levels[j] <= levels[t]);
      const logits = visible.map((j) => scale * q[t].reduce((a, qv, d) => a + qv * k[j][d], 0));
      const mx = Math.max(...logits);
      const w = logits.map((l) => Math.exp(l - mx));
      const z = w.reduce((a, b) => a + b, 0);
      visible.forEach((j, n) => v[j].forEach((vv, d) => (attnRows[t][h * hd + d] += (w[n] / z) * vv)));
    }
  }
  return x.map((row, t) => {
    const a = linear(sd, `${p}attn.proj.weight`, `${p}attn.proj.bias`, attnRows[t]);
    const x1 = row.map((v, c) => v + a[c] * gamma1![c]);
    const f = linear(
      sd,
      `${p}ffn.fc2.weight`,
      `${p}ffn.fc2.bias`,
      gelu(linear(sd, `${p}ffn.fc1.weight`, `${p}ffn.fc1.bias`, mod(x1, scale2!, shift2!))),
    );
    return x1.map((v, c) => v + f[c] * gamma2![c]);
  });
}

/** head(head_nm(x, class_emb[label])): the head uses the class condition itself, even with shared AdaLN. */
function naiveHead(sd: SD, s: RandomVARSpec, x: number[][], label: number): number[][] {
  const C = s.C;
  const cond = Array.from(sd.get('class_emb.weight')!.data.subarray(label * C, (label + 1) * C));
  const m = linear(sd, 'head_nm.ada_lin.1.weight', 'head_nm.ada_lin.1.bias', silu(cond));
  return x.map((row) =>
    linear(
      sd,
      'head.weight',
      'head.bias',
      ln(row).map((v, c) => v * (1 + m[c]) + m[C + c]),
    ),
  );
}

const rows = (t: Tensor, b: number): number[][] => {
  const [, T, C] = t.shape as [number, number, number];
  return Array.from({ length: T }, (_, i) => Array.from(t.data.subarray((b * T + i) * C, (b * T + i + 1) * C)));
};

describe.each([
  { name: 'shared AdaLN, scaled dot-product attention', spec: base, numHeads: 4 },
  {
    name: 'per-block AdaLN, l2-norm attention',
    spec: { ...base, sharedAdaLN: false, l2Norm: true, depth: 2 },
    numHeads: undefined,
  },
])('teacher forcing of a random VAR: $name', ({ spec, numHeads }) => {
  const sd = randomVARStateDict(spec);
  const labels = [2, spec.numClasses];
  const run = (async () => {
    const model = VARTransformer.fromStateDict({ tensors: sd }, { numHeads, patchNums: spec.patchNums });
    const captured = new Map<string, Tensor>();
    const L = model.config.tokenCount;
    const x = new Float32Array(2 * (L - 1) * spec.cvae).map((_, i) => Math.sin(i * 0.37));
    const logits = await model.forward(labels, { shape: [2, L - 1, spec.cvae], data: x }, await exactContext(captured));
    return { captured, logits };
  })();

  it.each(Array.from({ length: spec.depth }, (_, i) => i))(
    'block %i equals the spec re-stated in float64',
    async (i) => {
      const { captured } = await run;
      for (let b = 0; b < 2; b++) {
        const expected = naiveBlock(sd, spec, i, rows(captured.get(`block${i}.x_in`)!, b), labels[b]).flat();
        const got = rows(captured.get(`block${i}.out`)!, b).flat();
        expect(maxAbsDiff(got, expected), `sample ${b}`).toBeLessThanOrEqual(1e-4);
      }
      // The block did something: the gated residuals are far from zero.
      expect(maxAbsDiff(captured.get(`block${i}.out`)!.data, captured.get(`block${i}.x_in`)!.data)).toBeGreaterThan(
        0.1,
      );
    },
  );

  it('the head uses the class condition', async () => {
    const { captured, logits } = await run;
    for (let b = 0; b < 2; b++) {
      const expected = naiveHead(sd, spec, rows(captured.get(`block${spec.depth - 1}.out`)!, b), labels[b]).flat();
      expect(maxAbsDiff(rows(logits, b).flat(), expected)).toBeLessThanOrEqual(1e-4);
    }
  });
});
