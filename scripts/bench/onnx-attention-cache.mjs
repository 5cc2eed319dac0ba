// What the fused block's KV cache costs inside the attention: ONNX opset-23 Attention alone at one next-scale step of
// d16 (--pn 16: T 256 over P 424 cached tokens, 16 heads × 64), --rows rows per call, in ways of handing it the cache:
//   present: past_key/past_value in, present_key/present_value out (ORT concatenates, onnxruntime-node copies out);
//            with the all-zero additive mask (`present+mask`) and without;
//   concat:  the prefix's K/V (rows, P, C) as plain inputs, concatenated with this step's k/v in the graph (3-D
//            Attention), only the step's output returned;
//   concat+MHA: the same with com.microsoft.MultiHeadAttention (MLAS's flash attention: no scores materialised);
//   whole:   K/V of all P + T tokens as inputs (nothing concatenated: the floor).
// Prints the median ms per call, interleaved, and the load average. Usage: node scripts/bench/onnx-attention-cache.mjs
//   [--rows 2] [--pn 16] [--reps 9] [--threads 2]
import os from 'node:os';
import { createRequire } from 'node:module';
import { encodeModel, sessionOptions } from '@nextscale/engine-onnx';

const ort = createRequire(import.meta.resolve('@nextscale/engine-onnx'))('onnxruntime-node');
const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const N = Number(arg('--rows', 2));
const pn = Number(arg('--pn', 16));
const reps = Number(arg('--reps', 9));
const threads = Number(arg('--threads', 2));
const scales = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
const T = pn * pn;
const P = scales.slice(0, scales.indexOf(pn)).reduce((s, p) => s + p * p, 0);
const H = 16;
const hd = 64;
const C = H * hd;
const FLOAT = 1;
const io = (name, dims) => ({ name, elemType: FLOAT, dims });
const settings = { executionProviders: ['cpu'], cpu: { threads, memArena: false, spinning: false, prepack: true } };
const session = (spec) =>
  ort.InferenceSession.create(
    encodeModel({ name: 'a', opset: 23, initializers: [], ...spec }),
    sessionOptions(settings, { optimization: 'basic' }),
  );
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const t4 = (data, S) => new ort.Tensor('float32', data, [N, H, S, hd]);
const t3 = (data, S) => new ort.Tensor('float32', data, [N, S, C]);
const heads3 = { q_num_heads: { i: H }, kv_num_heads: { i: H }, scale: { f: 0.125 } };

const variants = {
  'present+mask': [
    await session({
      nodes: [
        {
          opType: 'Attention',
          inputs: ['q', 'k', 'v', 'mask', 'pk', 'pv'],
          outputs: ['y', 'k1', 'v1'],
          attributes: { scale: { f: 0.125 } },
        },
      ],
      inputs: [
        io('q', [N, H, T, hd]),
        io('k', [N, H, T, hd]),
        io('v', [N, H, T, hd]),
        io('mask', [T, P + T]),
        io('pk', [N, H, P, hd]),
        io('pv', [N, H, P, hd]),
      ],
      outputs: [io('y', [N, H, T, hd]), io('k1', [N, H, P + T, hd]), io('v1', [N, H, P + T, hd])],
    }),
    {
      q: t4(rand(N * C * T), T),
      k: t4(rand(N * C * T), T),
      v: t4(rand(N * C * T), T),
      mask: new ort.Tensor('float32', new Float32Array(T * (P + T)), [T, P + T]),
      pk: t4(rand(N * C * P), P),
      pv: t4(rand(N * C * P), P),
    },
  ],
  present: [
    await session({
      nodes: [
        {
          opType: 'Attention',
          inputs: ['q', 'k', 'v', '', 'pk', 'pv'],
          outputs: ['y', 'k1', 'v1'],
          attributes: { scale: { f: 0.125 } },
        },
      ],
      inputs: [
        io('q', [N, H, T, hd]),
        io('k', [N, H, T, hd]),
        io('v', [N, H, T, hd]),
        io('pk', [N, H, P, hd]),
        io('pv', [N, H, P, hd]),
      ],
      outputs: [io('y', [N, H, T, hd]), io('k1', [N, H, P + T, hd]), io('v1', [N, H, P + T, hd])],
    }),
    {
      q: t4(rand(N * C * T), T),
      k: t4(rand(N * C * T), T),
      v: t4(rand(N * C * T), T),
      pk: t4(rand(N * C * P), P),
      pv: t4(rand(N * C * P), P),
    },
  ],
  concat: [
    await session({
      nodes: [
        { opType: 'Concat', inputs: ['pk', 'k'], outputs: ['K'], attributes: { axis: { i: 1 } } },
        { opType: 'Concat', inputs: ['pv', 'v'], outputs: ['V'], attributes: { axis: { i: 1 } } },
        { opType: 'Attention', inputs: ['q', 'K', 'V'], outputs: ['y'], attributes: heads3 },
      ],
      inputs: [io('q', [N, T, C]), io('k', [N, T, C]), io('v', [N, T, C]), io('pk', [N, P, C]), io('pv', [N, P, C])],
      outputs: [io('y', [N, T, C])],
    }),
    {
      q: t3(rand(N * C * T), T),
      k: t3(rand(N * C * T), T),
      v: t3(rand(N * C * T), T),
      pk: t3(rand(N * C * P), P),
      pv: t3(rand(N * C * P), P),
    },
  ],
  'concat+MHA': [
    await session({
      nodes: [
        { opType: 'Concat', inputs: ['pk', 'k'], outputs: ['K'], attributes: { axis: { i: 1 } } },
        { opType: 'Concat', inputs: ['pv', 'v'], outputs: ['V'], attributes: { axis: { i: 1 } } },
        {
          opType: 'MultiHeadAttention',
          domain: 'com.microsoft',
          inputs: ['q', 'K', 'V'],
          outputs: ['y'],
          attributes: { num_heads: { i: H }, scale: { f: 0.125 } },
        },
      ],
      inputs: [io('q', [N, T, C]), io('k', [N, T, C]), io('v', [N, T, C]), io('pk', [N, P, C]), io('pv', [N, P, C])],
      outputs: [io('y', [N, T, C])],
    }),
    {
      q: t3(rand(N * C * T), T),
      k: t3(rand(N * C * T), T),
      v: t3(rand(N * C * T), T),
      pk: t3(rand(N * C * P), P),
      pv: t3(rand(N * C * P), P),
    },
  ],
  whole: [
    await session({
      nodes: [{ opType: 'Attention', inputs: ['q', 'K', 'V'], outputs: ['y'], attributes: heads3 }],
      inputs: [io('q', [N, T, C]), io('K', [N, P + T, C]), io('V', [N, P + T, C])],
      outputs: [io('y', [N, T, C])],
    }),
    { q: t3(rand(N * C * T), T), K: t3(rand(N * C * (P + T)), P + T), V: t3(rand(N * C * (P + T)), P + T) },
  ],
};
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
console.log(`Attention at pn ${pn} (T ${T}, P ${P}), ${N} rows, ${threads} threads; load before ${load()}`);
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r <= reps; r++)
  for (const [k, [s, feeds]] of Object.entries(variants)) {
    const t0 = performance.now();
    await s.run(feeds);
    if (r > 0) times[k].push(performance.now() - t0);
  }
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [k, t] of Object.entries(times)) console.log(`${k}: ${median(t).toFixed(2)} ms per call`);
console.log(`load after ${load()}`);
