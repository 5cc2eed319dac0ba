/**
 * editMask, forceMask, resizeBilinear and keepOnGrid against the reference's own code:
 * fixtures/edit-masks/masks.json is made by make.py beside it with get_edit_mask and replace_embedding's
 * resizing copied from demo_zero_shot_edit.ipynb, on PyTorch's CPU F.interpolate.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import {
  boxCells,
  editMask,
  forceMask,
  keepOnGrid,
  resizeBilinear,
  roundHalfEven,
  type EditBox,
  type EditMode,
} from './edit-mask.js';

interface MaskCase {
  patch_nums: number[];
  box: [number, number, number, number];
  mode: EditMode;
  keep: string;
  force: string[];
}
interface ResizeCase {
  h: number;
  w: number;
  out: number;
  kind: 'binary' | 'fraction';
  codes: number[];
  resized: number[];
  over_half: string;
}
const REFS = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../fixtures/edit-masks/masks.json', import.meta.url)), 'utf8'),
) as {
  masks: MaskCase[];
  resize: ResizeCase[];
  taps: { n: number; out: number; weights: number[] }[];
};
const bits = (a: ArrayLike<number>) => Array.from(a, (v) => String(v)).join('');

describe('roundHalfEven (Python round)', () => {
  it('rounds halves to the even integer and everything else to the nearest', () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5, 7.5, 8.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 4, 8, 8]);
    expect([0.49999999999999994, 0.5000000000000001, 2.4, 2.6, 0, 3, 16].map(roundHalfEven)).toEqual([
      0, 1, 2, 3, 0, 3, 16,
    ]);
  });

  it('works on the double product, as Python does (values from Python 3.11)', () => {
    // Python: [round(x) for x in (0.1*4, 0.35*10, 0.45*10, 0.55*10)] == [0, 4, 4, 6]; the products are 0.4, 3.5, 4.5, 5.5.
    expect([0.1 * 4, 0.35 * 10, 0.45 * 10, 0.55 * 10].map(roundHalfEven)).toEqual([0, 4, 4, 6]);
  });
});

describe('editMask = get_edit_mask', () => {
  it.each(REFS.masks.map((c) => [c.patch_nums.at(-1)!, c.box, c.mode, c] as const))(
    'side %i, box %j, %s',
    (side, box, mode, c) => {
      let mask: Tensor;
      try {
        mask = editMask(side, box, mode);
      } catch (err) {
        // The reference makes a mask of all 0s or all 1s here; ours refuses a box that covers no cell.
        const { r0, r1, c0, c1 } = boxCells(side, box);
        expect(r1 <= r0 || c1 <= c0).toBe(true);
        expect(err).toBeInstanceOf(UsageError);
        return;
      }
      expect(mask.shape).toEqual([side, side]);
      expect(mask.data).toBeInstanceOf(Float32Array);
      expect(bits(mask.data)).toBe(c.keep);
    },
  );

  it('the fixture has boxes on halves that round-half-up would place differently', () => {
    // 0.125·4 = 0.5 → 0 and 0.625·4 = 2.5 → 2 (Python); half-up would give rows 1:3.
    expect(boxCells(4, [0.125, 0.375, 0.625, 0.875])).toEqual({ r0: 0, r1: 2, c0: 2, c1: 4 });
    const m = editMask(4, [0.125, 0.375, 0.625, 0.875], 'outpaint');
    expect(bits(m.data)).toBe('0011' + '0011' + '0000' + '0000');
    expect(bits(editMask(4, [0.125, 0.375, 0.625, 0.875], 'inpaint').data)).toBe('1100' + '1100' + '1111' + '1111');
  });

  it.each<[string, EditBox]>([
    ['y0 below 0', [-0.1, 0, 0.5, 0.5]],
    ['x1 above 1', [0, 0, 0.5, 1.2]],
    ['NaN', [0, Number.NaN, 0.5, 0.5]],
    ['y1 = y0', [0.5, 0, 0.5, 1]],
    ['x1 < x0', [0, 0.8, 1, 0.2]],
  ])('rejects a box with %s', (_, box) => {
    expect(() => editMask(8, box, 'inpaint')).toThrow(UsageError);
    expect(() => editMask(8, box, 'inpaint')).toThrow(/box/);
  });

  it('rejects a box too small to cover a cell, a bad mode and a bad side', () => {
    expect(() => editMask(4, [0.5, 0.5, 0.6, 0.6], 'inpaint')).toThrow(/covers no cell of the 4×4 token grid/);
    expect(() => editMask(4, [0, 0, 1, 1], 'paint' as EditMode)).toThrow(/inpaint' or 'outpaint/);
    expect(() => editMask(0, [0, 0, 1, 1], 'inpaint')).toThrow(/positive integer/);
    expect(() => editMask(4, [0, 0, 1] as unknown as EditBox, 'inpaint')).toThrow(/\[y0, x0, y1, x1\]/);
  });
});

describe('forceMask = replace_embedding resizing', () => {
  it.each(REFS.masks.map((c) => [c.patch_nums.join(','), c.box, c.mode, c] as const))(
    'schedule %s, box %j, %s: every scale',
    (_, _b, _m, c) => {
      const side = c.patch_nums.at(-1)!;
      const keep = new Tensor([1, side, side], Float32Array.from(c.keep, Number));
      c.patch_nums.forEach((pn, si) => expect(bits(forceMask(keep, pn)), `pn ${pn}`).toBe(c.force[si]));
    },
  );

  it('keeps every token where pn² ≤ 3 even when the mask keeps none', () => {
    const none = new Tensor([2, 4, 4]);
    expect(Array.from(forceMask(none, 1))).toEqual([1, 1]);
    expect(Array.from(forceMask(none, 2))).toEqual(Array(8).fill(0));
  });
});

describe('resizeBilinear = F.interpolate(bilinear, align_corners=False), float32', () => {
  it.each(REFS.resize.map((c) => [c.h, c.w, c.out, c.kind, c] as const))(
    '%i×%i → %i (%s) bit for bit',
    (h, w, out, _, c) => {
      const maps = new Tensor(
        [1, h, w],
        Float32Array.from(c.codes, (v) => v / 255),
      );
      const r = resizeBilinear(maps, out, out);
      expect(r.shape).toEqual([1, out, out]);
      const worst = Math.max(...Array.from(r.data, (v, i) => Math.abs(v - c.resized[i])));
      expect(worst).toBeLessThanOrEqual(2.4e-7); // 2 float32 ulps of 1: PyTorch's compiled kernel may fuse the sums (FMA)
      expect(bits(keepOnGrid(new Tensor([h, w], maps.data), out).data)).toBe(c.over_half);
    },
  );
});

describe("resizeBilinear weights = PyTorch's, exactly", () => {
  it.each(REFS.taps.map((t) => [t.n, t.out, t] as const))('%i → %i', (n, out, t) => {
    // n impulses (1, n) resized to (1, out): row b is the weight every output gives input b (w·1 and w·0 are exact).
    const impulses = new Tensor([n, 1, n]);
    for (let b = 0; b < n; b++) impulses.data[b * n + b] = 1;
    const r = resizeBilinear(impulses, 1, out);
    expect(Array.from(r.data)).toEqual(t.weights);
  });
});

describe('keepOnGrid', () => {
  it('keeps the shape of a batch and rejects bad maps', () => {
    expect(keepOnGrid(new Tensor([3, 8, 8]).reshape([3, 8, 8]), 4).shape).toEqual([3, 4, 4]);
    expect(() => keepOnGrid(new Tensor([8]), 4)).toThrow(/\(h, w\) or \(B, h, w\)/);
    expect(() => keepOnGrid(new Tensor([2, 2], Float32Array.from([0, 1, 2, 0])), 4)).toThrow(/not in \[0, 1\]/);
    expect(() => keepOnGrid(new Tensor([2, 2], Float32Array.from([0, Number.NaN, 1, 0])), 4)).toThrow(
      /not in \[0, 1\]/,
    );
    expect(() => keepOnGrid(new Tensor([0, 2]), 4)).toThrow(/at least one pixel/);
  });
});
