import { describe, expect, it } from 'vitest';
import { barChart, logLogChart } from './svg.js';
import { machine, median, timeMedian } from './stats.js';

describe('bench utilities', () => {
  it('median of odd and even counts, unsorted input left alone', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('timeMedian warms up once, then times reps runs', async () => {
    let calls = 0;
    const r = await timeMedian(() => void calls++, 3);
    expect(calls).toBe(4);
    expect(r.runs).toHaveLength(3);
    expect(r.median).toBeGreaterThanOrEqual(0);
  });

  it('describes the machine', () => {
    const m = machine();
    expect(m.node).toBe(process.version);
    expect(Number(m.cores)).toBeGreaterThanOrEqual(1);
  });

  it('draws SVG charts with the titles and series given', () => {
    const bar = barChart('Attention', 's', [
      {
        label: 'L=680',
        values: [
          { series: 'cpu', value: 1 },
          { series: 'lowrank', value: 0.5 },
        ],
      },
    ]);
    expect(bar).toMatch(/^<svg[\s\S]*Attention[\s\S]*<\/svg>\s*$/);
    expect(bar).toContain('lowrank');
    const line = logLogChart('Scaling', 'L', 's', [
      {
        name: 'lowrank',
        points: [
          { x: 10, y: 1 },
          { x: 100, y: 5 },
        ],
      },
    ]);
    expect(line).toMatch(/^<svg[\s\S]*Scaling[\s\S]*lowrank[\s\S]*<\/svg>\s*$/);
  });
});
