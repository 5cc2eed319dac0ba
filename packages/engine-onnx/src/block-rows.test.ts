import { describe, expect, it } from 'vitest';
import { CALL_BYTES, rowChunks, rowsPerCall } from './block-rows.js';

const D16 = { heads: 16, hidden: 4096 };
const D16_SCALES = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];

describe('rowsPerCall', () => {
  it('keeps small d16 scales whole and splits the large ones below the budget, never growing from scale to scale', () => {
    let past = 0;
    let last = Infinity;
    const chunks: number[] = [];
    for (const pn of D16_SCALES) {
      const T = pn * pn;
      const n = rowsPerCall(16, T, past, D16);
      const perRow = 4 * T * Math.max(D16.hidden, D16.heads * (past + T));
      expect(n === 1 || n * perRow <= CALL_BYTES).toBe(true);
      expect(n).toBeLessThanOrEqual(last);
      chunks.push(n);
      last = n;
      past += T;
    }
    expect(chunks.slice(0, 6)).toEqual([16, 16, 16, 16, 16, 16]);
    expect(chunks.at(-1)).toBe(2);
  });

  it('is a power of two no larger than the rows, and at least 1', () => {
    expect(rowsPerCall(6, 1, 0, D16)).toBe(4);
    expect(rowsPerCall(1, 256, 424, D16)).toBe(1);
    expect(rowsPerCall(16, 256, 424, D16, 1)).toBe(1);
  });
});

describe('rowChunks', () => {
  it('cuts rows into aligned chunks', () => {
    expect(rowChunks(5, 2)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
  });
});
