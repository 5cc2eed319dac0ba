/**
 * Exact attention as four gpu.js kernels, for a batch of `heads` (batch × head) slices at once:
 *   scores(q, k, visible)   → τ·q_i·k_j for visible keys, −1e30 for masked ones   (heads·Lq·Lk)
 *   rowMax(scores, visible) → m_i = max_j scores_ij                               (heads·Lq)
 *   probs(scores, rowMax)   → exp(scores_ij − m_i), 0 for masked keys             (heads·Lq·Lk)
 *   weighted(probs, v, visible) → Σ_j probs_ij v_j / Σ_j probs_ij                 (heads·Lq·d)
 * Each exponential is taken once (a single weighted kernel would take it once per output column, d
 * times), and the row loops stop at the query's last visible key (a block-causal row sees a prefix).
 * Flat Float32Array inputs and 1-D outputs avoid gpu.js's per-row array conversion. Kernels are
 * compiled per shape (gpu.js bakes loop bounds in as constants) and cached.
 *
 * The kernels run as one gpu.js pipeline (`gpu.createPipeline`): the intermediates never leave the
 * device, and each call is one upload, one submit and one readback (on webgpu one command encoder; on
 * webasm all passes in one WebAssembly memory). The pipeline reports which executor and which mode
 * actually ran, so a silent degradation (e.g. to gpu.js's JavaScript kernels) is caught, not hidden.
 */
import type { GPU, IKernelRunShortcut, IPipelineRunShortcut } from 'gpu.js';

interface Shape {
  heads: number;
  Lq: number;
  Lk: number;
  d: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- gpu.js kernel bodies are transpiled, `this` is its thread context */
function scoresKernel(this: any, q: Float32Array, k: Float32Array, visible: Float32Array, scale: number): number {
  const x = this.thread.x;
  // Shader division need not be correctly rounded (WGSL allows 2.5 ulp), so x / Lk can land just below
  // an exact integer: divide at the middle of the interval and get remainders by subtraction.
  const row = Math.floor((x + 0.5) / this.constants.Lk);
  const j = x - row * this.constants.Lk;
  const h = Math.floor((row + 0.5) / this.constants.Lq);
  const i = row - h * this.constants.Lq;
  if (j >= visible[i]) return -1e30;
  let s = 0;
  for (let c = 0; c < this.constants.d; c++) {
    s += q[row * this.constants.d + c] * k[(h * this.constants.Lk + j) * this.constants.d + c];
  }
  return s * scale;
}

function rowMaxKernel(this: any, scores: Float32Array, visible: Float32Array): number {
  const row = this.thread.x;
  const h = Math.floor((row + 0.5) / this.constants.Lq);
  const n = visible[row - h * this.constants.Lq];
  let m = -1e30;
  for (let j = 0; j < this.constants.Lk; j++) {
    if (j >= n) break;
    m = Math.max(m, scores[row * this.constants.Lk + j]);
  }
  return m;
}

function probsKernel(this: any, scores: Float32Array, rowMax: Float32Array): number {
  const x = this.thread.x;
  const row = Math.floor((x + 0.5) / this.constants.Lk);
  // A masked score (−1e30) lands far below the row's max: exp gives exactly 0.
  return Math.exp(scores[x] - rowMax[row]);
}

function weightedKernel(this: any, probs: Float32Array, v: Float32Array, visible: Float32Array): number {
  const x = this.thread.x;
  const row = Math.floor((x + 0.5) / this.constants.d);
  const c = x - row * this.constants.d;
  const h = Math.floor((row + 0.5) / this.constants.Lq);
  const n = visible[row - h * this.constants.Lq];
  let sum = 0;
  let acc = 0;
  for (let j = 0; j < this.constants.Lk; j++) {
    if (j >= n) break;
    const p = probs[row * this.constants.Lk + j];
    sum += p;
    acc += p * v[(h * this.constants.Lk + j) * this.constants.d + c];
  }
  return acc / sum;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

interface CompiledShape {
  kernels: IKernelRunShortcut[];
  fused: IPipelineRunShortcut;
}

/** What ran the last call: gpu.js's executor kind and the mode its kernels actually executed in. */
export interface ExecutedOn {
  executor: string;
  mode: string | null;
}

export class AttentionKernels {
  private readonly cache = new Map<string, CompiledShape>();
  private last: ExecutedOn | undefined;

  constructor(private readonly gpu: GPU) {}

  private compiled(s: Shape): CompiledShape {
    const key = `${s.heads}x${s.Lq}x${s.Lk}x${s.d}`;
    let c = this.cache.get(key);
    if (!c) {
      const common = {
        constants: { ...s },
        precision: 'single',
        tactic: 'precision',
        loopMaxIterations: Math.max(s.Lk, s.d) + 1,
      };
      const scoresSize = s.heads * s.Lq * s.Lk;
      const scores = this.gpu.createKernel(scoresKernel as never, { ...common, output: [scoresSize] });
      const rowMax = this.gpu.createKernel(rowMaxKernel as never, { ...common, output: [s.heads * s.Lq] });
      const probs = this.gpu.createKernel(probsKernel as never, { ...common, output: [scoresSize] });
      const weighted = this.gpu.createKernel(weightedKernel as never, { ...common, output: [s.heads * s.Lq * s.d] });
      // Traced once by gpu.js: the handles are opaque, only the kernel calls are recorded.
      const fused = this.gpu.createPipeline((q, k, v, visible, scale) => {
        const sc = scores(q, k, visible, scale);
        return weighted(probs(sc, rowMax(sc, visible)), v, visible);
      });
      c = { kernels: [scores, rowMax, probs, weighted], fused };
      this.cache.set(key, c);
    }
    return c;
  }

  /** q: (heads, Lq, d), k/v: (heads, Lk, d) flat; visible[i] = keys query i sees. */
  async attend(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    visible: Float32Array,
    shape: Shape,
    scale: number,
  ): Promise<Float32Array> {
    const { fused } = this.compiled(shape);
    const out = (await fused(q, k, v, visible, scale)) as Float32Array;
    this.last = { executor: fused.pipeline.executorKind, mode: fused.backend };
    return Float32Array.from(out);
  }

  /** The executor and mode of the most recent call (undefined before the first). */
  get executedOn(): ExecutedOn | undefined {
    return this.last;
  }

  dispose(): void {
    for (const c of this.cache.values()) {
      void c.fused.destroy();
      for (const k of c.kernels) k.destroy?.();
    }
    this.cache.clear();
  }
}
