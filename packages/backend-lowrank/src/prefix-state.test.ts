import { describe, expect, it } from 'vitest';
import { Rng } from '@nextscale/core';
import { defaultPrefixEngine, PrefixSums } from './prefix-state.js';

describe('prefix sums', () => {
  it('fold then read equals the explicit Φ_Q Φ_Kᵀ [U, 1], for every block remainder', () => {
    const rng = new Rng(3);
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 13]) {
      const r = 6;
      const d = 3;
      const D = d + 1;
      const phiK = Float64Array.from({ length: n * r }, () => rng.normal());
      const u = Float64Array.from({ length: n * D }, (_, i) => (i % D === d ? 1 : rng.normal()));
      const phiQ = Float64Array.from({ length: n * r }, () => rng.normal());
      const ps = new PrefixSums(r, d, new Float64Array(r * D));
      ps.reset();
      ps.fold(phiK.subarray(0, Math.floor(n / 2) * r), u.subarray(0, Math.floor(n / 2) * D), Math.floor(n / 2));
      ps.fold(phiK.subarray(Math.floor(n / 2) * r), u.subarray(Math.floor(n / 2) * D), n - Math.floor(n / 2));
      const acc = new Float64Array(n * D);
      ps.read(phiQ, n, acc);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < D; c++) {
          let want = 0;
          for (let j = 0; j < n; j++) {
            let a = 0;
            for (let m = 0; m < r; m++) a += phiQ[i * r + m] * phiK[j * r + m];
            want += a * u[j * D + c];
          }
          expect(acc[i * D + c]).toBeCloseTo(want, 9);
        }
      }
    }
  });

  it('the WebAssembly engine (the default) gives bitwise the same S and read-out as the JavaScript loops', () => {
    expect(defaultPrefixEngine()).toBe('wasm');
    const rng = new Rng(5);
    for (const [n, r, d] of [
      [1, 1, 0],
      [7, 17, 16],
      [13, 153, 16],
      [9, 65, 64],
      [4, 10, 3],
    ] as const) {
      const D = d + 1;
      const phiK = Float64Array.from(rng.normalArray(n * r));
      const u = Float64Array.from({ length: n * D }, (_, i) => (i % D === d ? 1 : rng.normal()));
      const phiQ = Float64Array.from(rng.normalArray(n * r));
      const run = (engine: 'wasm' | 'js') => {
        const ps = new PrefixSums(
          r,
          d,
          Float64Array.from({ length: r * D }, (_, i) => Math.sin(i)),
          engine,
        );
        ps.fold(phiK, u, n);
        const acc = new Float64Array(n * D);
        ps.read(phiQ, n, acc);
        return { S: ps.S, acc };
      };
      const [wasm, js] = [run('wasm'), run('js')];
      expect(Array.from(wasm.S), `S, n=${n} r=${r} d=${d}`).toEqual(Array.from(js.S));
      expect(Array.from(wasm.acc), `read, n=${n} r=${r} d=${d}`).toEqual(Array.from(js.acc));
    }
  });

  it('refuses a buffer that is too small', () => {
    expect(() => new PrefixSums(10, 4, new Float64Array(49))).toThrow(/needs 50 floats/);
  });
});
