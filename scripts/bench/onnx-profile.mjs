// Where a d16 generation's time goes on the onnx engine: each engine call timed (by op and shape), the rest of the
// transformer and the decoder (core's own loops) as the remainder. One warm-up generation (pins the weights), then one
// profiled. Usage: pnpm build && node scripts/bench/onnx-profile.mjs [--top 25]
import { readFileSync } from 'node:fs';
import * as core from '@nextscale/core';
import * as models from '@nextscale/core/models';
import '@nextscale/backend-cpu/register';
import { engine as onnx } from '@nextscale/engine-onnx';

const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 25;
const e = await onnx.create({});
const stats = new Map();
let stage = 'transformer';
const wrap = (name, label) => {
  if (typeof e[name] !== 'function') return;
  const f = e[name].bind(e);
  e[name] = (...a) => {
    const t0 = performance.now();
    try {
      return f(...a);
    } finally {
      const k = `${stage} ${name} ${label(...a)}`;
      const s = stats.get(k) ?? { ms: 0, n: 0 };
      s.ms += performance.now() - t0;
      s.n++;
      stats.set(k, s);
    }
  };
};
wrap('linear', (x, rows, inF, w, outF) => `${inF}→${outF}`);
wrap('conv2d', (a) => `${a.inChannels}→${a.outChannels} k${a.kernelH} ${a.height}×${a.width}`);
wrap('gemmNT', (m, n, k) => `${m}×${n}×${k}`);
wrap('feedForward', (x, rows, inF, w1, b1, hidden) => `${inF}→${hidden}→${inF}`);
wrap('featureNet', (net, x, shape) => `${net.label} ${shape[2]}×${shape[3]}`);
wrap('layerNormRows', (x, o, rows, cols) => `${cols}`);
wrap('geluTanh', (x, o, n) => `${n}`);
wrap('silu', (x, o, n) => `${n}`);
const spec = models.releasedVARSpec(16);
const model = await core.VARModel.fromStateDicts(
  { tensors: models.randomVARStateDict(spec) },
  { tensors: models.randomVQVAEStateDict(models.releasedVQVAEConfig()) },
  { policy: core.priorityPolicy(), engine: e },
);
const rss = () => {
  const cur = /VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return `RSS now ${(Number(cur) / 2 ** 20).toFixed(2)} GiB, peak ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`;
};
console.log('model built:', rss());
const gen = async (seed) => {
  stage = 'transformer';
  let tDec = 0;
  const t0 = performance.now();
  await model.generate({
    labels: [207],
    cfg: 1.5,
    topK: 900,
    topP: 0.95,
    seed,
    onProgress: (p) => {
      if (p.stage === 'decode' && !tDec) {
        tDec = performance.now();
        stage = 'decode';
      }
    },
  });
  return { transformer: (tDec - t0) / 1000, decode: (performance.now() - tDec) / 1000 };
};
console.log('warm-up', await gen(1), rss());
stats.clear();
const r = await gen(2);
console.log('profiled', r, 'load', process.argv.includes('--x') ? '' : (await import('node:os')).loadavg());
const sum = (st) => [...stats].filter(([k]) => k.startsWith(st)).reduce((a, [, s]) => a + s.ms, 0) / 1000;
console.log(`engine time: transformer ${sum('transformer').toFixed(2)} s, decode ${sum('decode').toFixed(2)} s`);
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, top))
  console.log(`${(s.ms / 1000).toFixed(3)} s  ${s.n}×  ${k}`);
console.log(`max RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`);
await model.dispose();
process.exit(0);
