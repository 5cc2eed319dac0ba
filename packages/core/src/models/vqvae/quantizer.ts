/**
 * VAR's multi-scale residual quantizer (VectorQuantizer2, inference paths only): a latent f_hat of
 * size pn_last² is built as a sum over scales of Phi_si(bicubic(codebook[idx_si])), and each scale's
 * tokens quantize what the coarser scales left over.
 */
import { InputError, UsageError } from '../../errors.js';
import { conv2d } from '../../engines/calls.js';
import { addInPlace, interpolateArea, interpolateBicubic } from '../../ops/index.js';
import { Tensor } from '../../tensor.js';
import type { VQVAEConfig } from './config.js';
import { phiKey } from './config.js';
import type { Params } from './params.js';
import { phiIndexPerScale } from './phi.js';

/** `Phi(h) = (1−r)·h + r·conv3x3(h)`: the residual refinement applied to each scale's contribution. */
export class Phi {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor,
    readonly ratio: number,
  ) {}

  async forward(h: Tensor): Promise<Tensor> {
    const c = await conv2d(h, this.weight, this.bias, { stride: 1, padding: 1 });
    const keep = 1 - this.ratio;
    const r = this.ratio;
    const out = new Float32Array(h.data.length);
    // Rounded like PyTorch's float32 `h.mul(1−r) + conv(h).mul_(r)`: each product to float32, then the sum.
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(h.data[i] * keep) + Math.fround(c.data[i] * r);
    return new Tensor(h.shape, out);
  }
}

function subInPlace(a: Tensor, b: Tensor): void {
  for (let i = 0; i < a.data.length; i++) a.data[i] = a.data[i] - b.data[i];
}

export class MultiScaleQuantizer {
  /** The codebook, (V, Cvae). */
  readonly embedding: Tensor;
  readonly phis: Phi[];
  /** Which entry of `phis` each scale uses (VAR's quant_resi[si/(S−1)]). */
  readonly phiIndexPerScale: number[];
  readonly vocabSize: number;
  readonly Cvae: number;
  /** Squared codebook norms, float64, for the nearest-code search. */
  private readonly codeNorms: Float64Array;

  constructor(
    p: Params,
    cfg: VQVAEConfig,
    readonly patchNums: readonly number[],
  ) {
    this.embedding = p.get('embedding.weight');
    [this.vocabSize, this.Cvae] = this.embedding.shape as [number, number];
    this.phis = Array.from({ length: cfg.numPhi }, (_, k) => {
      const local = phiKey(cfg, k).slice('quantize.'.length);
      return new Phi(p.get(`${local}.weight`), p.get(`${local}.bias`), Math.abs(cfg.quantResi));
    });
    const S = patchNums.length;
    this.phiIndexPerScale = cfg.shareQuantResi === 1 ? new Array<number>(S).fill(0) : phiIndexPerScale(S, cfg.numPhi);
    this.codeNorms = new Float64Array(this.vocabSize);
    const e = this.embedding.data;
    for (let v = 0; v < this.vocabSize; v++) {
      let s = 0;
      for (let c = 0; c < this.Cvae; c++) s += e[v * this.Cvae + c] * e[v * this.Cvae + c];
      this.codeNorms[v] = s;
    }
  }

  get numScales(): number {
    return this.patchNums.length;
  }

  /** Side of the latent f_hat (the last scale's token grid). */
  get latentSize(): number {
    return this.patchNums[this.patchNums.length - 1];
  }

  /** Codebook rows of a (B, pn²) row-major token map, as a feature map (B, Cvae, pn, pn). */
  lookup(idx: Int32Array, B: number, pn: number): Tensor {
    const n = pn * pn;
    if (idx.length !== B * n) throw new InputError(`token map has ${idx.length} entries, expected B·pn² = ${B}·${n}`);
    const C = this.Cvae;
    const out = new Float32Array(B * C * n);
    const e = this.embedding.data;
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < n; p++) {
        const t = idx[b * n + p];
        if (!(t >= 0 && t < this.vocabSize))
          throw new InputError(`token ${t} at batch ${b}, position ${p} is outside [0, ${this.vocabSize})`);
        for (let c = 0; c < C; c++) out[(b * C + c) * n + p] = e[t * C + c];
      }
    }
    return new Tensor([B, C, pn, pn], out);
  }

  /** Phi of scale si applied to a full-resolution contribution. */
  applyPhi(si: number, h: Tensor): Promise<Tensor> {
    return this.phis[this.phiIndexPerScale[si]]!.forward(h);
  }

  /** A scale's contribution to f_hat: bicubic up to the latent size, except at the last scale. */
  private contribution(si: number, h: Tensor): Promise<Tensor> {
    const H = this.latentSize;
    return this.applyPhi(si, si === this.numScales - 1 ? h : interpolateBicubic(h, H, H));
  }

  /**
   * One step of next-scale inference (VAR's get_next_autoregressive_input): adds scale si's
   * contribution to `fHat` **in place** and returns the next scale's input, f_hat area-downsampled to
   * pn_{si+1} — or f_hat itself after the last scale.
   */
  async nextAutoregressiveInput(si: number, fHat: Tensor, h: Tensor): Promise<Tensor> {
    this.checkScale(si);
    const [B] = fHat.shape;
    this.checkFhat(fHat, B!);
    const pn = this.patchNums[si];
    if (
      h.shape.length !== 4 ||
      h.shape[0] !== B ||
      h.shape[1] !== this.Cvae ||
      h.shape[2] !== pn ||
      h.shape[3] !== pn
    ) {
      throw new InputError(`scale ${si} map must be (${B}, ${this.Cvae}, ${pn}, ${pn}), got (${h.shape.join(', ')})`);
    }
    addInPlace(fHat, await this.contribution(si, h));
    if (si === this.numScales - 1) return fHat;
    const next = this.patchNums[si + 1];
    return interpolateArea(fHat, next, next);
  }

  /** f_hat after all scales of a token pyramid (what the decoder turns into an image). */
  async idxToFhat(idx: readonly Int32Array[], B: number): Promise<Tensor> {
    this.checkPyramid(idx, B);
    const H = this.latentSize;
    const fHat = new Tensor([B, this.Cvae, H, H]);
    for (const [si, t] of idx.entries())
      await this.nextAutoregressiveInput(si, fHat, this.lookup(t, B, this.patchNums[si]));
    return fHat;
  }

  /**
   * Teacher-forcing input (VAR's idxBl_to_var_input): each scale's f_hat, area-downsampled to the next
   * scale, as (B, L − pn0², Cvae). The last scale's tokens are never used.
   */
  async idxToVarInput(idx: readonly Int32Array[], B: number): Promise<Tensor> {
    this.checkPyramid(idx, B, this.numScales - 1);
    const S = this.numScales;
    const C = this.Cvae;
    const H = this.latentSize;
    const fHat = new Tensor([B, C, H, H]);
    const total = this.patchNums.slice(1).reduce((s, pn) => s + pn * pn, 0);
    const out = new Float32Array(B * total * C);
    let offset = 0;
    for (let si = 0; si < S - 1; si++) {
      const next = await this.nextAutoregressiveInput(si, fHat, this.lookup(idx[si], B, this.patchNums[si]));
      const n = this.patchNums[si + 1] ** 2;
      // (B, C, n) → rows (B, n, C) at token offset `offset` of the sequence.
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          for (let p = 0; p < n; p++) out[(b * total + offset + p) * C + c] = next.data[(b * C + c) * n + p];
        }
      }
      offset += n;
    }
    return new Tensor([B, total, C], out);
  }

  /** Token maps per scale (VAR's f_to_idxBl_or_fhat(f, to_fhat=False)) for a latent (B, Cvae, H, H). */
  async encodeFeatures(f: Tensor): Promise<Int32Array[]> {
    return (await this.quantize(f)).indices;
  }

  /** Cumulative f_hat after each scale (f_to_idxBl_or_fhat(f, to_fhat=True)). */
  async fhatFromFeatures(f: Tensor): Promise<Tensor[]> {
    return (await this.quantize(f)).fhats;
  }

  /** Residual quantization: each scale quantizes the area-downsampled remainder of f. */
  async quantize(f: Tensor): Promise<{ indices: Int32Array[]; fhats: Tensor[] }> {
    const [B] = f.shape;
    this.checkFhat(f, B!);
    const H = this.latentSize;
    const S = this.numScales;
    const fRest = f.clone();
    const fHat = new Tensor([B!, this.Cvae, H, H]);
    const indices: Int32Array[] = [];
    const fhats: Tensor[] = [];
    for (let si = 0; si < S; si++) {
      const pn = this.patchNums[si];
      const z = si === S - 1 ? fRest : interpolateArea(fRest, pn, pn);
      const idx = this.nearestCodes(z);
      const h = await this.contribution(si, this.lookup(idx, B!, pn));
      addInPlace(fHat, h);
      subInPlace(fRest, h);
      indices.push(idx);
      fhats.push(fHat.clone());
    }
    return { indices, fhats };
  }

  /**
   * argmin_v ‖z − e_v‖² per position of a (B, Cvae, pn, pn) map, as VAR computes it
   * (‖z‖² + ‖e‖² − 2 z·e; first index on ties), in float64. Output is (B, pn²) row-major.
   */
  nearestCodes(z: Tensor): Int32Array {
    const [B, C, h, w] = z.shape as [number, number, number, number];
    const n = h * w;
    const V = this.vocabSize;
    const e = this.embedding.data;
    const out = new Int32Array(B * n);
    const row = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < n; p++) {
        let zz = 0;
        for (let c = 0; c < C; c++) {
          row[c] = z.data[(b * C + c) * n + p];
          zz += row[c] * row[c];
        }
        let best = 0;
        let bestD = Infinity;
        for (let v = 0; v < V; v++) {
          let dot = 0;
          const ev = v * C;
          for (let c = 0; c < C; c++) dot += row[c] * e[ev + c];
          const d = zz + this.codeNorms[v] - 2 * dot;
          if (d < bestD) {
            bestD = d;
            best = v;
          }
        }
        out[b * n + p] = best;
      }
    }
    return out;
  }

  private checkScale(si: number): void {
    if (!Number.isInteger(si) || si < 0 || si >= this.numScales) {
      throw new UsageError(`scale index ${si} is outside [0, ${this.numScales})`);
    }
  }

  private checkFhat(f: Tensor, B: number): void {
    const H = this.latentSize;
    const s = f.shape;
    if (s.length !== 4 || s[0] !== B || s[1] !== this.Cvae || s[2] !== H || s[3] !== H) {
      throw new InputError(`latent must be (B, ${this.Cvae}, ${H}, ${H}), got (${s.join(', ')})`);
    }
  }

  /** At least `needed` scales (all by default), each B·pn² tokens. */
  private checkPyramid(idx: readonly Int32Array[], B: number, needed = this.numScales): void {
    if (!Number.isInteger(B) || B < 1) throw new InputError(`batch size must be a positive integer, got ${B}`);
    if (idx.length < needed || idx.length > this.numScales) {
      throw new InputError(
        `expected ${needed === this.numScales ? needed : `${needed} or ${this.numScales}`} token maps (one per scale), got ${idx.length}`,
      );
    }
    idx.forEach((t, si) => {
      const pn = this.patchNums[si];
      if (t.length !== B * pn * pn)
        throw new InputError(`token map ${si} has ${t.length} entries, expected B·pn² = ${B}·${pn * pn}`);
    });
  }
}
