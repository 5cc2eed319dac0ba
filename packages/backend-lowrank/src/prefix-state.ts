import { wasmPrefixKernel, type PrefixKernel } from './wasm/prefix-kernel.js';
/**
 * The prefix sums of docs/theory.md §5 for one (batch, head): S = Σ_j φ_K(k_j)ᵀ [v_j − m, 1], an
 * r × (d+1) Float64 matrix whose last column is the normaliser state z = Σ_j φ_K(k_j). Values are
 * centred on m (per channel) before they enter S; the read-out adds m back.
 *
 * Both loops are register-blocked over four keys (fold) or four queries (read) so S streams through
 * the cache once per four rows. They run in core's WebAssembly SIMD prefix kernel where there is one
 * (bitwise the same results, faster); the loops here are the reference (pass engine 'js' to run them).
 */
export type PrefixEngine = 'wasm' | 'js';

export function defaultPrefixEngine(): PrefixEngine {
  return wasmPrefixKernel() ? 'wasm' : 'js';
}

export class PrefixSums {
  readonly D: number;
  private readonly wasm: PrefixKernel | null;

  constructor(
    readonly r: number,
    readonly d: number,
    /** r × (d+1), row-major; may be a view into a larger buffer. */
    readonly S: Float64Array,
    readonly engine: PrefixEngine = defaultPrefixEngine(),
  ) {
    this.D = d + 1;
    if (S.length < r * this.D) throw new RangeError(`prefix state needs ${r * this.D} floats, got ${S.length}`);
    this.wasm = engine === 'wasm' ? wasmPrefixKernel() : null;
    if (engine === 'wasm' && !this.wasm)
      throw new Error('the wasm prefix engine needs WebAssembly SIMD, which this engine lacks');
  }

  reset(): void {
    this.S.fill(0, 0, this.r * this.D);
  }

  /** S += Φᵀ U for n keys: phi is n × r, u is n × (d+1) (centred values with a trailing 1). */
  fold(phi: Float64Array, u: Float64Array, n: number): void {
    const { r, D, S } = this;
    if (this.wasm) return this.wasm.fold(S, phi, u, n, r, D);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const p0 = j * r;
      const p1 = p0 + r;
      const p2 = p1 + r;
      const p3 = p2 + r;
      const u0 = j * D;
      const u1 = u0 + D;
      const u2 = u1 + D;
      const u3 = u2 + D;
      for (let m = 0; m < r; m++) {
        const f0 = phi[p0 + m];
        const f1 = phi[p1 + m];
        const f2 = phi[p2 + m];
        const f3 = phi[p3 + m];
        const row = m * D;
        for (let c = 0; c < D; c++) S[row + c] += f0 * u[u0 + c] + f1 * u[u1 + c] + f2 * u[u2 + c] + f3 * u[u3 + c];
      }
    }
    for (; j < n; j++) {
      const p0 = j * r;
      const u0 = j * D;
      for (let m = 0; m < r; m++) {
        const f0 = phi[p0 + m];
        const row = m * D;
        for (let c = 0; c < D; c++) S[row + c] += f0 * u[u0 + c];
      }
    }
  }

  /** acc (n × (d+1)) = Φ_Q S for n queries: numerators in columns 0..d−1, the normaliser in column d. */
  read(phi: Float64Array, n: number, acc: Float64Array): void {
    const { r, D, S } = this;
    if (this.wasm) return this.wasm.read(S, phi, n, r, D, acc);
    acc.fill(0, 0, n * D);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const p0 = i * r;
      const p1 = p0 + r;
      const p2 = p1 + r;
      const p3 = p2 + r;
      const a0 = i * D;
      const a1 = a0 + D;
      const a2 = a1 + D;
      const a3 = a2 + D;
      for (let m = 0; m < r; m++) {
        const f0 = phi[p0 + m];
        const f1 = phi[p1 + m];
        const f2 = phi[p2 + m];
        const f3 = phi[p3 + m];
        const row = m * D;
        for (let c = 0; c < D; c++) {
          const s = S[row + c];
          acc[a0 + c] += f0 * s;
          acc[a1 + c] += f1 * s;
          acc[a2 + c] += f2 * s;
          acc[a3 + c] += f3 * s;
        }
      }
    }
    for (; i < n; i++) {
      const p0 = i * r;
      const a0 = i * D;
      for (let m = 0; m < r; m++) {
        const f0 = phi[p0 + m];
        const row = m * D;
        for (let c = 0; c < D; c++) acc[a0 + c] += f0 * S[row + c];
      }
    }
  }
}
