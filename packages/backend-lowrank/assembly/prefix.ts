// The float64 prefix sums of the low-rank backend (docs/theory.md §5): fold keys into S = Σ φ_K(k)ᵀ[v − m, 1] and
// read queries out as φ_Q(q)·S. Two f64 lanes over the columns, four rows of Φ per pass over S, and exactly the
// operations and order of the JavaScript loops they replace (separate multiplies and adds, no fused multiply-add), so
// the results are bitwise identical and the backend's floating-point certificate (δ_fp) is unaffected.
//
// Layout: S is r × D, phi is n × r, u and acc are n × D, all row-major float64 (D = d + 1, usually odd: rows are
// not 16-byte aligned, which v128 loads allow).

/** S += Φᵀ U over n rows. */
export function prefixFold(s: usize, phi: usize, u: usize, n: i32, r: i32, D: i32): void {
  const rowBytes = <usize>D << 3;
  const phiRow = <usize>r << 3;
  const D2 = D & ~1;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const p0 = phi + <usize>j * phiRow;
    const u0 = u + <usize>j * rowBytes;
    const u1 = u0 + rowBytes;
    const u2 = u1 + rowBytes;
    const u3 = u2 + rowBytes;
    for (let m = 0; m < r; m++) {
      const pm = p0 + (<usize>m << 3);
      const f0 = load<f64>(pm);
      const f1 = load<f64>(pm + phiRow);
      const f2 = load<f64>(pm + 2 * phiRow);
      const f3 = load<f64>(pm + 3 * phiRow);
      const v0 = f64x2.splat(f0);
      const v1 = f64x2.splat(f1);
      const v2 = f64x2.splat(f2);
      const v3 = f64x2.splat(f3);
      const row = s + <usize>m * rowBytes;
      let c = 0;
      for (; c < D2; c += 2) {
        const o = <usize>c << 3;
        let t = f64x2.add(f64x2.mul(v0, v128.load(u0 + o)), f64x2.mul(v1, v128.load(u1 + o)));
        t = f64x2.add(t, f64x2.mul(v2, v128.load(u2 + o)));
        t = f64x2.add(t, f64x2.mul(v3, v128.load(u3 + o)));
        v128.store(row + o, f64x2.add(v128.load(row + o), t));
      }
      for (; c < D; c++) {
        const o = <usize>c << 3;
        store<f64>(row + o, load<f64>(row + o) + (f0 * load<f64>(u0 + o) + f1 * load<f64>(u1 + o) + f2 * load<f64>(u2 + o) + f3 * load<f64>(u3 + o)));
      }
    }
  }
  for (; j < n; j++) {
    const p0 = phi + <usize>j * phiRow;
    const u0 = u + <usize>j * rowBytes;
    for (let m = 0; m < r; m++) {
      const f0 = load<f64>(p0 + (<usize>m << 3));
      const v0 = f64x2.splat(f0);
      const row = s + <usize>m * rowBytes;
      let c = 0;
      for (; c < D2; c += 2) {
        const o = <usize>c << 3;
        v128.store(row + o, f64x2.add(v128.load(row + o), f64x2.mul(v0, v128.load(u0 + o))));
      }
      for (; c < D; c++) {
        const o = <usize>c << 3;
        store<f64>(row + o, load<f64>(row + o) + f0 * load<f64>(u0 + o));
      }
    }
  }
}

/** acc = Φ S over n rows (acc is overwritten). */
export function prefixRead(s: usize, phi: usize, n: i32, r: i32, D: i32, acc: usize): void {
  const rowBytes = <usize>D << 3;
  const phiRow = <usize>r << 3;
  const D2 = D & ~1;
  memory.fill(acc, 0, <usize>n * rowBytes);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p0 = phi + <usize>i * phiRow;
    const a0 = acc + <usize>i * rowBytes;
    const a1 = a0 + rowBytes;
    const a2 = a1 + rowBytes;
    const a3 = a2 + rowBytes;
    for (let m = 0; m < r; m++) {
      const pm = p0 + (<usize>m << 3);
      const f0 = load<f64>(pm);
      const f1 = load<f64>(pm + phiRow);
      const f2 = load<f64>(pm + 2 * phiRow);
      const f3 = load<f64>(pm + 3 * phiRow);
      const v0 = f64x2.splat(f0);
      const v1 = f64x2.splat(f1);
      const v2 = f64x2.splat(f2);
      const v3 = f64x2.splat(f3);
      const row = s + <usize>m * rowBytes;
      let c = 0;
      for (; c < D2; c += 2) {
        const o = <usize>c << 3;
        const sv = v128.load(row + o);
        v128.store(a0 + o, f64x2.add(v128.load(a0 + o), f64x2.mul(v0, sv)));
        v128.store(a1 + o, f64x2.add(v128.load(a1 + o), f64x2.mul(v1, sv)));
        v128.store(a2 + o, f64x2.add(v128.load(a2 + o), f64x2.mul(v2, sv)));
        v128.store(a3 + o, f64x2.add(v128.load(a3 + o), f64x2.mul(v3, sv)));
      }
      for (; c < D; c++) {
        const o = <usize>c << 3;
        const sv = load<f64>(row + o);
        store<f64>(a0 + o, load<f64>(a0 + o) + f0 * sv);
        store<f64>(a1 + o, load<f64>(a1 + o) + f1 * sv);
        store<f64>(a2 + o, load<f64>(a2 + o) + f2 * sv);
        store<f64>(a3 + o, load<f64>(a3 + o) + f3 * sv);
      }
    }
  }
  for (; i < n; i++) {
    const p0 = phi + <usize>i * phiRow;
    const a0 = acc + <usize>i * rowBytes;
    for (let m = 0; m < r; m++) {
      const f0 = load<f64>(p0 + (<usize>m << 3));
      const v0 = f64x2.splat(f0);
      const row = s + <usize>m * rowBytes;
      let c = 0;
      for (; c < D2; c += 2) {
        const o = <usize>c << 3;
        v128.store(a0 + o, f64x2.add(v128.load(a0 + o), f64x2.mul(v0, v128.load(row + o))));
      }
      for (; c < D; c++) {
        const o = <usize>c << 3;
        store<f64>(a0 + o, load<f64>(a0 + o) + f0 * load<f64>(row + o));
      }
    }
  }
}

/**
 * Polynomial features of n rows of x (float32, row-major n × d) into out (n × r float64): each monomial is a lower one
 * times one scaled coordinate times a multinomial step, then weighted — the JavaScript `featurize`, operation for
 * operation. xs is d float64s of scratch.
 */
export function featurizeRows(
  x: usize, n: i32, d: i32, a: f64, w: usize, parent: usize, coord: usize, mult: usize, r: i32, out: usize, xs: usize,
): void {
  const rowBytes = <usize>r << 3;
  for (let j = 0; j < n; j++) {
    const xo = x + ((<usize>j * <usize>d) << 2);
    for (let i = 0; i < d; i++) store<f64>(xs + (<usize>i << 3), <f64>load<f32>(xo + (<usize>i << 2)) * a);
    const o = out + <usize>j * rowBytes;
    store<f64>(o, 1);
    for (let m = 1; m < r; m++) {
      const mm = <usize>m;
      const p = <usize>load<i32>(parent + (mm << 2));
      const c = <usize>load<i32>(coord + (mm << 2));
      store<f64>(o + (mm << 3), load<f64>(o + (p << 3)) * load<f64>(xs + (c << 3)) * load<f64>(mult + (mm << 3)));
    }
    for (let m = 0; m < r; m++) {
      const at = o + (<usize>m << 3);
      store<f64>(at, load<f64>(at) * load<f64>(w + (<usize>m << 3)));
    }
  }
}
