import { describe, expect, it } from 'vitest';
import { linspace, phiIndex, phiIndexPerScale, phiTicks } from './phi.js';
import { CONFIG } from './test-support.js';

describe('Phi selection', () => {
  it('reproduces the float64 ticks the spec lists for K = 4, bit for bit', () => {
    expect(phiTicks(4)).toEqual([0.08333333333333333, 0.36111111111111105, 0.6388888888888888, 0.9166666666666666]);
    // The fixture records numpy's ticks too.
    expect(phiTicks(4)).toEqual(CONFIG.vae.phi_ticks);
  });

  it('ticks[1] is below 13/36, which is what decides the 7-scale tie', () => {
    expect(phiTicks(4)[1]).toBeLessThan(13 / 36);
  });

  it('released 10-scale schedule: [0,0,1,1,1,2,2,3,3,3] (si=2 and si=7 are ties)', () => {
    expect(phiIndexPerScale(10, 4)).toEqual([0, 0, 1, 1, 1, 2, 2, 3, 3, 3]);
  });

  it('4 scales (the tiny fixture): [0,1,2,3], as config.json records', () => {
    expect(phiIndexPerScale(4, 4)).toEqual([0, 1, 2, 3]);
    expect(phiIndexPerScale(CONFIG.patch_nums.length, CONFIG.vae.share_quant_resi)).toEqual(
      CONFIG.vae.phi_index_per_scale,
    );
  });

  it('7 scales (1,2,3,4,5,6,8): [0,0,1,2,2,3,3]; the si=3 tie resolves to 2', () => {
    expect(phiIndexPerScale(7, 4)).toEqual([0, 0, 1, 2, 2, 3, 3]);
  });

  it('K ≠ 4 uses linspace(1/2K, 1−1/2K, K); values from numpy.argmin(abs(np.linspace(...) − si/(S−1)))', () => {
    // K=2: ticks [0.25, 0.75]; si=1 of 3 is an exact tie → first index.
    expect(phiIndexPerScale(3, 2)).toEqual([0, 0, 1]);
    expect(phiIndexPerScale(5, 3)).toEqual([0, 0, 1, 2, 2]);
    expect(phiIndexPerScale(10, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(phiIndexPerScale(16, 6)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5]);
    expect(phiIndexPerScale(13, 5)).toEqual([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4]);
    expect(phiTicks(2)).toEqual([0.25, 0.75]);
  });

  it('linspace overwrites the last sample with stop and handles num = 1', () => {
    expect(linspace(0, 1, 1)).toEqual([0]);
    expect(linspace(0.1, 0.7, 4)[3]).toBe(0.7);
    expect(phiIndexPerScale(4, 1)).toEqual([0, 0, 0, 0]);
  });

  it('rejects a single-scale schedule (VAR divides by S−1)', () => {
    expect(() => phiIndex(0, 1, 4)).toThrow(/at least 2 scales/);
  });
});
