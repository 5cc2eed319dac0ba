/** The page draws the edit box on the cells core's editMask will use: its rounding must be core's. */
import { type EditBox } from '@nextscale/core';
import { boxCells as coreCells } from '@nextscale/core/models';
import { describe, expect, it } from 'vitest';
import { boxCells } from '../src/ui/box-editor.js';

describe('the box overlay', () => {
  it("covers exactly core's cells for every box on 8ths, 16ths and halves (Python rounding of .5 to even)", () => {
    let checked = 0;
    for (const grid of [5, 8, 16]) {
      const steps = [0, 0.0625, 0.125, 0.1875, 0.25, 0.3, 0.3125, 0.5, 0.625, 0.7, 0.75, 0.9375, 1];
      for (const y0 of steps)
        for (const x0 of steps)
          for (const y1 of steps)
            for (const x1 of steps) {
              if (!(y1 > y0 && x1 > x0)) continue;
              const box = [y0, x0, y1, x1] as const;
              expect(boxCells(grid, [...box])).toEqual(coreCells(grid, box as EditBox));
              checked++;
            }
    }
    expect(checked).toBeGreaterThan(10_000);
    // A half cell rounds to even: 0.3125·8 = 2.5 → 2, 0.1875·8 = 1.5 → 2.
    expect(boxCells(8, [0.3125, 0.1875, 1, 1])).toMatchObject({ r0: 2, c0: 2 });
  });
});
