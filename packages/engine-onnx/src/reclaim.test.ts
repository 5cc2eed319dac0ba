import { describe, expect, it } from 'vitest';
import { Reclaimer } from './reclaim.js';

// The collector comes from V8's --expose-gc flag, set at run time; Node lets it be set (reclaim.ts), so these runs
// collect for real.
describe('Reclaimer', () => {
  it('collects once a threshold’s worth of dropped bytes is waiting, not before', () => {
    const r = new Reclaimer(100);
    r.dropped(60);
    expect(r.collections).toBe(0);
    r.dropped(60);
    expect(r.collections).toBe(1);
    r.dropped(60); // the count started again after the collection
    expect(r.collections).toBe(1);
  });

  it('collectNow collects what is waiting below the threshold, and nothing when nothing is', () => {
    const r = new Reclaimer(1 << 30);
    r.collectNow();
    expect(r.collections).toBe(0);
    r.dropped(10);
    r.collectNow();
    expect(r.collections).toBe(1);
    r.collectNow();
    expect(r.collections).toBe(1);
  });
});
