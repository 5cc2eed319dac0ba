/**
 * The low-rank kernel for one (batch, head) slice: fold keys into the prefix sums, read queries out,
 * and apply the runtime guards (docs/theory.md §4, runtime guards) to every row.
 */
import { wasmPrefixKernel } from './wasm/prefix-kernel.js';
import { featurize, type FeatureMap } from './features.js';
import { PrefixSums } from './prefix-state.js';

/** Rows per feature block; bounds scratch memory at CHUNK·r floats. */
export const CHUNK = 64;

export class SliceKernel {
  sums: PrefixSums;
  private readonly phi: Float64Array;
  private readonly u: Float64Array;
  private readonly acc: Float64Array;
  private readonly xs: Float64Array;
  private readonly D: number;

  constructor(
    readonly fm: FeatureMap,
    readonly d: number,
    S: Float64Array,
  ) {
    const r = fm.table.r;
    this.D = d + 1;
    this.sums = new PrefixSums(r, d, S);
    this.phi = new Float64Array(CHUNK * r);
    this.u = new Float64Array(CHUNK * this.D);
    this.acc = new Float64Array(CHUNK * this.D);
    this.xs = new Float64Array(d);
  }

  /** Points the kernel at another slice's prefix sums (r × (d+1) floats). */
  bind(S: Float64Array): this {
    this.sums = new PrefixSums(this.fm.table.r, this.d, S);
    return this;
  }

  /** Features of n rows of x from `off` into this.phi, on the prefix sums' engine (both give the same bits). */
  private features(x: Float32Array, off: number, n: number, a: number, w: Float64Array): void {
    if (this.sums.engine === 'wasm') wasmPrefixKernel()!.featurize(x, off, n, this.d, a, w, this.fm.table, this.phi);
    else featurize(x, off, n, a, w, this.fm.table, this.phi, this.xs);
  }

  /** Folds key/value rows [j0, j1) (row j at base + j·d) into S, values centred on centre[cOff..]. */
  fold(
    k: Float32Array,
    v: Float32Array,
    base: number,
    j0: number,
    j1: number,
    centre: Float64Array,
    cOff: number,
  ): void {
    const { d, D, u, phi, fm } = this;
    for (let j = j0; j < j1; j += CHUNK) {
      const n = Math.min(CHUNK, j1 - j);
      this.features(k, base + j * d, n, fm.ak, fm.wk);
      for (let t = 0; t < n; t++) {
        const vo = base + (j + t) * d;
        for (let c = 0; c < d; c++) u[t * D + c] = v[vo + c] - centre[cOff + c];
        u[t * D + d] = 1;
      }
      this.sums.fold(phi, u, n);
    }
  }

  /**
   * Reads query rows [i0, i1) (row i at qBase + i·d) into out (row i at outBase + i·d). A row passes
   * the guards when its normaliser is ≥ minDenPerKey · visible and its outputs are finite; rows that
   * fail are left unwritten and returned, for the caller to recompute exactly.
   */
  read(
    q: Float32Array,
    qBase: number,
    i0: number,
    i1: number,
    visible: number,
    minDenPerKey: number,
    centre: Float64Array,
    cOff: number,
    out: Float32Array,
    outBase: number,
  ): number[] {
    const { d, D, acc, phi, fm } = this;
    const failed: number[] = [];
    const minDen = minDenPerKey * visible;
    for (let i = i0; i < i1; i += CHUNK) {
      const n = Math.min(CHUNK, i1 - i);
      this.features(q, qBase + i * d, n, fm.aq, fm.wq);
      this.sums.read(phi, n, acc);
      for (let t = 0; t < n; t++) {
        const a = t * D;
        const den = acc[a + d];
        if (!(den >= minDen)) {
          failed.push(i + t);
          continue;
        }
        const inv = 1 / den;
        const o = outBase + (i + t) * d;
        let finite = true;
        for (let c = 0; c < d; c++) {
          out[o + c] = centre[cOff + c] + acc[a + c] * inv;
          if (!Number.isFinite(out[o + c])) finite = false;
        }
        if (!finite) failed.push(i + t);
      }
    }
    return failed;
  }
}

/** "rows 3, 7-9, 12" */
export function describeRows(rows: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j + 1 < rows.length && rows[j + 1] === rows[j] + 1) j++;
    parts.push(i === j ? `${rows[i]}` : `${rows[i]}-${rows[j]}`);
    i = j + 1;
  }
  return parts.length > 8 ? `${parts.slice(0, 8).join(', ')}, … (${rows.length} rows)` : parts.join(', ');
}
