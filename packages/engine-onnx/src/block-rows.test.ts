import { describe, expect, it } from 'vitest';
import { CALL_BYTES, pastRows, rowChunks, rowsPerCall } from './block-rows.js';

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

describe('rowChunks and pastRows', () => {
  it('cuts rows into aligned chunks', () => {
    expect(rowChunks(5, 2)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
  });

  it('views one segment when it holds the rows, and gathers across segments otherwise', () => {
    const perRow = 3;
    const seg = (start: number, rows: number) => {
      const key = Float32Array.from({ length: rows * perRow }, (_, i) => start * perRow + i);
      return { start, rows, key, value: key.map((v) => -v) };
    };
    const segments = [seg(0, 2), seg(2, 2)];
    const view = pastRows(segments, 'key', 2, 3, perRow);
    expect(Array.from(view)).toEqual([6, 7, 8]);
    expect(view.buffer).toBe(segments[1].key.buffer);
    const gathered = pastRows(segments, 'value', 1, 3, perRow);
    expect(Array.from(gathered)).toEqual([-3, -4, -5, -6, -7, -8]);
  });
});
