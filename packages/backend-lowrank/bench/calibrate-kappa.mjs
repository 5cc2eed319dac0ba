// Calibrates κ, the norm policy's cost-model constant, on this machine. The policy routes a subcritical
// head to low-rank when C_lr ≤ κ·C_ex (docs/theory.md §8), where C_lr and C_ex are flop estimates.
// If the measured times are t_lr = a·C_lr and t_ex = b·C_ex, low-rank really is faster exactly when
// C_lr ≤ (b/a)·C_ex: the break-even κ* = (t_ex·C_lr) / (t_lr·C_ex). This script measures κ* on VAR-shaped
// block-causal calls (the lowrank backend's prefix state against the cpu backend, same inputs, medians)
// and prints the value to put in nextscale.config.json (`"policy": { "kappa": … }`).
//
// Inputs: queries and keys on the unit sphere with softmax scale τ = β (so the logit bound is exactly β,
// as for l2-normalised heads) and values in [−0.5, 0.5] (a value range of 1, which the policy assumes a
// priori), so the backend certifies the degree the policy would pick. Costs are read from each call's
// certificate (the degree and rank actually used).
//
// After `pnpm build`: node --import @nextscale/backend-cpu/register packages/backend-lowrank/bench/calibrate-kappa.mjs [--reps 5] [--dims 16,64]
//                       [--betas 0.1,0.25,0.5,1] [--lengths 155,680,2240] [--epsilon 1e-2] [--quick] [--out DIR]
// (--quick: d = 16, L = 155 and 680, β = 0.25 and 0.5.) `nextscale bench --calibrate` runs it too.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng, Tensor } from '@nextscale/core';
import { createRegisteredBackend } from '@nextscale/core/attention';
import { RELEASED_PYRAMIDS, scaleEnds as scaleEndsOf } from '@nextscale/core/models';
import { createLowrankAttention } from '../dist/index.js';

const { values: o } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    dims: { type: 'string', default: '16,64' },
    betas: { type: 'string', default: '0.1,0.25,0.5,1' },
    lengths: { type: 'string', default: '155,680,2240' },
    epsilon: { type: 'string', default: '1e-2' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
if (o.quick) Object.assign(o, { dims: '16', lengths: '155,680', betas: '0.25,0.5' });
const list = (s) => s.split(',').map(Number);
const reps = Number(o.reps);
const epsilon = Number(o.epsilon);
// VAR's schedules: the shipped Fashion-MNIST model (L = 155), 256 px (680) and 512 px (2240).
const PYRAMIDS = { 155: [1, 2, 3, 4, 5, 6, 8], ...RELEASED_PYRAMIDS };

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function seconds(fn) {
  const first = await fn();
  const t = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return { seconds: median(t), first };
}

const rng = new Rng(7);
function unitRows(L, d) {
  const t = new Tensor([1, 1, L, d], rng.normalArray(L * d));
  for (let i = 0; i < L; i++) {
    const row = t.data.subarray(i * d, (i + 1) * d);
    const n = Math.hypot(...row);
    for (let c = 0; c < d; c++) row[c] /= n;
  }
  return t;
}

const exact = await createRegisteredBackend('cpu'); // registered by the caller: node --import @nextscale/backend-cpu/register
const lowrank = await createLowrankAttention({ epsilon });
{
  // JIT and WebAssembly warm-up on a throwaway shape, so the first measured row is not penalised.
  const [q, k, v] = [unitRows(155, 16), unitRows(155, 16), unitRows(155, 16)];
  const spec = {
    scale: 0.25,
    mask: { kind: 'block-causal', scaleEnds: [1, 5, 14, 30, 55, 91, 155] },
    logitBound: 0.25,
    epsilon,
  };
  for (let i = 0; i < 20; i++) await Promise.all([lowrank.attend(q, k, v, spec), exact.attend(q, k, v, spec)]);
}
const rows = [];
console.log(
  `machine: ${os.cpus()[0]?.model}, ${os.availableParallelism()} cores, node ${process.version}; load ${os.loadavg()[0].toFixed(2)}; median of ${reps} after a warm-up`,
);
console.log(
  '| d | L | β | degree | rank | C_lr / C_ex | t_lr ms | t_ex ms | κ* |\n|---|---|---|---|---|---|---|---|---|',
);
for (const d of list(o.dims)) {
  for (const L of list(o.lengths)) {
    const pyramid = PYRAMIDS[L];
    if (!pyramid) throw new Error(`no pyramid for L = ${L} (known: ${Object.keys(PYRAMIDS).join(', ')})`);
    const scaleEnds = scaleEndsOf(pyramid);
    const [q, k] = [unitRows(L, d), unitRows(L, d)];
    const v = new Tensor(
      [1, 1, L, d],
      Float32Array.from(rng.normalArray(L * d), (x) => Math.max(-0.5, Math.min(0.5, x / 4))),
    );
    for (const beta of list(o.betas)) {
      const spec = { scale: beta, mask: { kind: 'block-causal', scaleEnds }, logitBound: beta, epsilon };
      const lr = await seconds(() => lowrank.attend(q, k, v, spec));
      const cert = lr.first.certificate;
      if (!cert) {
        console.log(`| ${d} | ${L} | ${beta} | exact: ${lr.first.exactReason} | | | | | |`);
        continue;
      }
      const ex = await seconds(() => exact.attend(q, k, v, spec));
      const kappa = (ex.seconds * cert.estCostLowrank) / (lr.seconds * cert.estCostExact);
      const row = {
        d,
        L,
        beta,
        degree: cert.degree,
        rank: cert.rank,
        costLowrank: cert.estCostLowrank,
        costExact: cert.estCostExact,
        secondsLowrank: lr.seconds,
        secondsExact: ex.seconds,
        kappa,
      };
      rows.push(row);
      console.log(
        `| ${d} | ${L} | ${beta} | ${row.degree} | ${row.rank} | ${(row.costLowrank / row.costExact).toFixed(2)} | ${(lr.seconds * 1000).toFixed(2)} | ${(ex.seconds * 1000).toFixed(2)} | ${kappa.toFixed(3)} |`,
      );
    }
  }
}
await exact.dispose();
await lowrank.dispose();

if (!rows.length) throw new Error('no case could be certified: nothing to calibrate');
const kappaStar = median(rows.map((r) => r.kappa));
const spread = [Math.min(...rows.map((r) => r.kappa)), Math.max(...rows.map((r) => r.kappa))];
console.log(
  `\nκ* (median over ${rows.length} cases) = ${kappaStar.toFixed(3)}; range ${spread[0].toFixed(3)}–${spread[1].toFixed(3)}; the policy's default is 0.5.`,
);
console.log(
  `On this machine, against the cpu backend: "policy": { "kappa": ${kappaStar.toPrecision(2)} } in nextscale.config.json.`,
);
if (o.out) {
  const dir = resolve(o.out);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'kappa.json'),
    `${JSON.stringify({ machine: os.cpus()[0]?.model, cores: os.availableParallelism(), reps, epsilon, kappaStar, rows }, null, 2)}\n`,
  );
  console.log(`wrote ${join(dir, 'kappa.json')}`);
}
