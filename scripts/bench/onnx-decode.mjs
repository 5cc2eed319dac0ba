// Where the VQ-VAE decode's time goes on the onnx engine: the released VQ-VAE (vae_ch160v4096z32, random weights)
// decodes a random 16×16 latent to a 256-px image (`fhatToImage`: post_quant_conv, the decoder, clamp), one warm-up
// and --reps timed decodes; each engine call is timed (awaited) by op and shape, and the rest (core's own loops: the
// attention backend, adds, layout copies) is the remainder. --ort-profile DIR also turns on ONNX Runtime's node
// profiler in every session the engine creates and prints, per op type and per node, the time of the last timed run.
// --compare: a second engine with Winograd off (ONNX Runtime's direct Conv, NEXTSCALE_ONNX_WINOGRAD=0) decodes too,
// alternating with the first, so both see the same load: both medians, and the largest difference of the unclamped
// images (both engines keep the weights' JavaScript copies).
// Usage: pnpm build && nice node scripts/bench/onnx-decode.mjs [--reps 3] [--top 25] [--ort-profile /tmp/prof] [--compare]
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '@nextscale/bench-utils';
import * as core from '@nextscale/core';
import { AttentionTrace } from '@nextscale/core/attention';
import * as models from '@nextscale/core/models';
import '@nextscale/backend-cpu/register';
import { engine as onnx } from '@nextscale/engine-onnx';

const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const reps = Number(arg('--reps', 3));
const top = Number(arg('--top', 25));
const profileDir = arg('--ort-profile');
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const profiled = [];
if (profileDir) {
  mkdirSync(profileDir, { recursive: true });
  const req = createRequire(fileURLToPath(import.meta.resolve('@nextscale/engine-onnx')));
  const mod = await import(req.resolve('onnxruntime-node'));
  const IS = (mod.InferenceSession ? mod : mod.default).InferenceSession;
  const create = IS.create.bind(IS);
  IS.create = async (bytes, options) => {
    const s = await create(bytes, {
      ...options,
      enableProfiling: true,
      profileFilePrefix: join(profileDir, `s${profiled.length}`),
    });
    profiled.push(s);
    return s;
  };
}

const compare = process.argv.includes('--compare');
const e = await onnx.create(compare ? { releaseWeights: false } : {});
const direct = compare ? await onnx.create({ releaseWeights: false, winograd: false }) : null;
const stats = new Map();
const wrap = (name, label) => {
  if (typeof e[name] !== 'function') return;
  const f = e[name].bind(e);
  e[name] = async (...a) => {
    const t0 = performance.now();
    try {
      return await f(...a);
    } finally {
      const k = `${name} ${label(...a)}`;
      const s = stats.get(k) ?? { ms: 0, n: 0 };
      s.ms += performance.now() - t0;
      s.n++;
      stats.set(k, s);
    }
  };
};
wrap('conv2d', (a) => `${a.inChannels}→${a.outChannels} k${a.kernelH} ${a.height}×${a.width}`);
wrap('featureNet', (net, x, shape) => `${net.label} ${shape[2]}×${shape[3]}`);
wrap('layerNormRows', (x, o, rows, cols) => `${cols}`);
wrap('silu', (x, o, n) => `${n}`);
wrap('linear', (x, rows, inF, w, outF) => `${inF}→${outF}`);

// a 1-block VAR of the released widths' family only to get the pipeline's router; the decode is the VQ-VAE's alone
const model = await core.VARModel.fromStateDicts(
  { tensors: models.randomVARStateDict(models.releasedVARSpec(1)) },
  { tensors: models.randomVQVAEStateDict(models.releasedVQVAEConfig()) },
  { policy: core.priorityPolicy(), engine: e },
);
const vae = model.vae.model;
const fHat = new core.Tensor(
  [1, 32, 16, 16],
  Float32Array.from({ length: 32 * 256 }, (_, i) => Math.sin(i * 0.37)),
);
let raw;
/** One decode: wall seconds, and CPU seconds (user + system, all threads; steadier on a shared machine). */
const decode = async () => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await vae.fhatToImage(fHat, { router: model.router, trace: new AttentionTrace(), onRawImage: (r) => (raw = r) });
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
};
const on = (engine) => core.setDenseEngine(engine);
const loadBefore = load();
const rss = () => {
  const st = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1]) / 2 ** 20;
  return `RSS ${kb('VmRSS').toFixed(2)} GiB (peak ${kb('VmHWM').toFixed(2)})`;
};
console.log(`model built: ${rss()}`);
console.log(`warm-up decode ${(await decode()).wall.toFixed(2)} s (builds the sessions); ${rss()}`);
const mine = raw;
if (direct) {
  on(direct);
  console.log(`warm-up decode, Winograd off: ${(await decode()).wall.toFixed(2)} s`);
  let d = 0;
  let big = 0;
  for (let i = 0; i < raw.data.length; i++) {
    d = Math.max(d, Math.abs(raw.data[i] - mine.data[i]));
    big = Math.max(big, Math.abs(raw.data[i]));
  }
  console.log(`largest difference from the direct Conv: ${d.toExponential(2)} (largest |value| ${big.toFixed(3)})`);
  on(e);
}
stats.clear();
const times = [];
const directTimes = [];
const s = (ts) =>
  `median ${median(ts.map((t) => t.wall)).toFixed(3)} s over ${ts.length} (${ts.map((t) => t.wall.toFixed(3)).join(', ')}); CPU ${median(ts.map((t) => t.cpu)).toFixed(2)} s`;
for (let r = 0; r < reps; r++) {
  times.push(await decode());
  if (!direct) continue;
  on(direct); // its calls are not in stats (only e's methods are wrapped)
  directTimes.push(await decode());
  on(e);
}
console.log(`decode: ${s(times)}; ${e.name}${direct ? ', Winograd' : ''}; load before ${loadBefore}, after ${load()}`);
if (direct) console.log(`decode, Winograd off (direct Conv): ${s(directTimes)}`);
console.log(`after the timed decodes: ${rss()}`);
const engineS = [...stats.values()].reduce((a, s) => a + s.ms, 0) / 1000 / reps;
console.log(
  `engine calls ${engineS.toFixed(3)} s per decode; the rest (core's loops, attention) ${(median(times.map((t) => t.wall)) - engineS).toFixed(3)} s`,
);
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, top))
  console.log(`${(s.ms / 1000 / reps).toFixed(3)} s  ${s.n / reps}×  ${k}`);

if (profileDir) {
  for (const s of profiled) s.endProfiling();
  const byOp = new Map();
  const byNode = new Map();
  for (const f of readdirSync(profileDir).filter((x) => x.endsWith('.json'))) {
    const ev = JSON.parse(readFileSync(join(profileDir, f), 'utf8'));
    const runs = ev.filter((x) => x.name === 'model_run');
    const last = runs[runs.length - 1];
    if (!last) continue;
    for (const x of ev) {
      if (x.cat !== 'Node' || !x.name.endsWith('_kernel_time') || x.ts < last.ts || x.ts > last.ts + last.dur) continue;
      const op = x.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + x.dur);
      const shape = JSON.stringify(x.args?.output_type_shape?.[0] ?? x.args?.output_size ?? '');
      const k = `${op} ${x.name.replace(/_kernel_time$/, '')} ${shape}`;
      byNode.set(k, (byNode.get(k) ?? 0) + x.dur);
    }
  }
  console.log('\nONNX Runtime node profile, last run of each session (ms):');
  for (const [k, us] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`${(us / 1000).toFixed(1)}  ${k}`);
  for (const [k, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${(us / 1000).toFixed(1)}  ${k}`);
}
await model.dispose();
process.exit(0);
