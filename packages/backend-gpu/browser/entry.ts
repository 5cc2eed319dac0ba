/**
 * The browser check's page script: runs exact attention through @nextscale/backend-gpu in a real
 * page and compares it with core's float64 reference.
 */
import { Rng, Tensor, VARModel, createRegistry, explicitPolicy } from '@nextscale/core';
import { referenceAttention } from '@nextscale/core/attention';
import { loadStateDictFromBytes } from '@nextscale/core/weights';
import { backend, chooseMode, createGpuAttention, type GpuMode } from '../src/index.js';

function rand(rng: Rng, shape: number[]): Tensor {
  return new Tensor(shape, rng.normalArray(shape.reduce((a, b) => a * b, 1)));
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function attentionCheck(mode?: GpuMode) {
  const auto = await chooseMode();
  const att = await createGpuAttention({ mode });
  const rng = new Rng(11);
  const scaleEnds = [1, 5, 14, 30];
  const [q, k, v] = [0, 1, 2].map(() => rand(rng, [2, 2, 30, 16])) as [Tensor, Tensor, Tensor];
  const mask = { kind: 'block-causal' as const, scaleEnds };
  const oneShot = await att.attend(q, k, v, { scale: 0.25, mask });
  const full = await att.attend(q, k, v, { scale: 0.25 });
  const st = att.createState({ batch: 2, heads: 2, headDim: 16, scale: 0.25 });
  const parts: Float32Array[] = [];
  let start = 0;
  for (const end of scaleEnds) {
    const slice = (t: Tensor) => {
      const out = new Tensor([2, 2, end - start, 16]);
      for (let bh = 0; bh < 4; bh++)
        out.data.set(t.data.subarray((bh * 30 + start) * 16, (bh * 30 + end) * 16), bh * (end - start) * 16);
      return out;
    };
    await st.append(slice(k), slice(v));
    parts.push((await st.attend(slice(q))).output.data);
    start = end;
  }
  const refMasked = referenceAttention(q, k, v, 0.25, mask);
  // Reassemble the per-scale outputs in (b, h, token) order.
  const incremental = new Float32Array(refMasked.length);
  start = 0;
  scaleEnds.forEach((end, s) => {
    for (let bh = 0; bh < 4; bh++)
      incremental.set(
        parts[s].subarray(bh * (end - start) * 16, (bh + 1) * (end - start) * 16),
        (bh * 30 + start) * 16,
      );
    start = end;
  });
  const result = {
    requested: mode ?? 'auto',
    mode: att.mode,
    adapter: att.choice.adapter ?? null,
    reason: att.choice.reason,
    autoMode: auto.mode,
    autoSkipped: auto.skipped,
    errMasked: maxAbs(oneShot.output.data, refMasked),
    errFull: maxAbs(full.output.data, referenceAttention(q, k, v, 0.25)),
    errIncremental: maxAbs(incremental, refMasked),
  };
  await att.dispose();
  return result;
}

async function fetchWeights(url: string) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return loadStateDictFromBytes(new Uint8Array(await response.arrayBuffer()), url);
}

/**
 * One tiny-model generation in the page, every attention call on the gpu backend in `mode`: greedy
 * sampling (top-k 1) at cfg 1.5 for the reference labels, compared with the reference tokens and image.
 */
async function generationCheck(mode: GpuMode, fixtures: string) {
  const [varSd, vaeSd, refs] = await Promise.all(
    ['var.safetensors', 'vae.safetensors', 'refs.safetensors'].map((f) => fetchWeights(`${fixtures}/${f}`)),
  );
  const registry = createRegistry();
  registry.register({ ...backend, create: () => createGpuAttention({ mode }) });
  const model = await VARModel.fromStateDicts(varSd!, vaeSd!, { registry, policy: explicitPolicy('gpu') });
  const { tokens, images, trace } = await model.generate({ labels: [3, 7], cfg: 1.5, topK: 1, topP: 0, seed: 0 });
  const tokenMismatches = tokens.map((t, s) => {
    const expected = refs!.tensors.get(`ar.cfg1p5.idx.s${s}`)!.data;
    return t.reduce((n, x, i) => n + (x === expected[i] ? 0 : 1), 0);
  });
  const result = {
    mode,
    tokenMismatches,
    imageErr: maxAbs(images.data, refs!.tensors.get('ar.cfg1p5.img_01')!.data),
    backends: trace.summary(),
  };
  await model.dispose();
  return result;
}

/**
 * The backend's instances and states driven from Node, one call at a time, so that the shared
 * conformance suite (which runs in vitest) exercises the shader kernels in this page.
 */
type Wire = { shape: number[]; data: number[] };
const toTensor = (w: Wire) => new Tensor(w.shape, Float32Array.from(w.data));
const toWire = (t: Tensor): Wire => ({ shape: t.shape, data: Array.from(t.data) });
const handles = new Map<number, any>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- instances and states
let nextHandle = 1;
const remote = {
  probe: () => backend.probe(),
  async create(mode: GpuMode) {
    handles.set(nextHandle, await createGpuAttention({ mode }));
    return nextHandle++;
  },
  async attend(id: number, q: Wire, k: Wire, v: Wire, spec: never) {
    return toWire((await handles.get(id).attend(toTensor(q), toTensor(k), toTensor(v), spec)).output);
  },
  createState(id: number, options: never) {
    handles.set(nextHandle, handles.get(id).createState(options));
    return nextHandle++;
  },
  async append(id: number, k: Wire, v: Wire) {
    await handles.get(id).append(toTensor(k), toTensor(v));
    return handles.get(id).length as number;
  },
  async stateAttend(id: number, q: Wire) {
    return toWire((await handles.get(id).attend(toTensor(q))).output);
  },
  async dispose(id: number) {
    const h = handles.get(id);
    await h?.dispose();
    handles.delete(id);
  },
};

/** Median milliseconds of one attention call (B = H = 1, head dim d) in `mode`, for the benchmark. */
async function timeAttention(mode: GpuMode, L: number, d: number, scaleEnds: number[] | null, reps: number) {
  const att = await createGpuAttention({ mode });
  const rng = new Rng(0);
  const [q, k, v] = [0, 1, 2].map(() => rand(rng, [1, 1, L, d])) as [Tensor, Tensor, Tensor];
  const spec = {
    scale: 1 / Math.sqrt(d),
    mask: scaleEnds ? { kind: 'block-causal' as const, scaleEnds } : { kind: 'none' as const },
  };
  await att.attend(q, k, v, spec);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await att.attend(q, k, v, spec);
    times.push(performance.now() - t0);
  }
  const result = {
    mode: att.mode,
    adapter: att.choice.adapter ?? null,
    ms: times.sort((a, b) => a - b)[times.length >> 1],
  };
  await att.dispose();
  return result;
}

Object.assign(globalThis, {
  nextscaleAttentionCheck: attentionCheck,
  nextscaleGenerationCheck: generationCheck,
  nextscaleRemote: remote,
  nextscaleTimeAttention: timeAttention,
});
