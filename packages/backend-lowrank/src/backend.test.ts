import { describe, expect, it } from 'vitest';
import { createRegistry, getDefaultRegistry, normPolicy, type AttentionCall } from '@nextscale/core';
import { testAttentionBackend } from '@nextscale/core/testing';
import { backend, createLowrankAttention } from './index.js';

describe('default options', () => {
  testAttentionBackend(backend, { tolerance: 2e-5 });
});

describe('low-rank wherever certifiable (exactWhenCheaper: false, gMax 12)', () => {
  testAttentionBackend(backend, { tolerance: 2e-5, createOptions: { exactWhenCheaper: false, gMax: 12, rMax: 20000 } });
});

describe('lowrank descriptor', () => {
  it('is approximate and ranks below the exact backends', () => {
    expect(backend.id).toBe('lowrank');
    expect(backend.package).toBe('@nextscale/backend-lowrank');
    expect(backend.exact).toBe(false);
    expect(backend.priority).toBeLessThan(10); // backend-cpu's priority
  });

  it('registers itself in the default registry on import of ./register', async () => {
    await import('./register.js');
    expect(getDefaultRegistry().get('lowrank')).toBe(backend);
    await import('./register.js'); // idempotent
    expect(
      getDefaultRegistry()
        .list()
        .filter((b) => b.id === 'lowrank'),
    ).toHaveLength(1);
  });

  it('is what the norm policy routes sub-critical heads to', async () => {
    const registry = createRegistry();
    registry.register(backend);
    const available = await registry.probeAll();
    const call: AttentionCall = {
      site: 's',
      batch: 1,
      heads: 1,
      headDim: 16,
      scale: 1,
      mask: 'block-causal',
      scaleEnds: [1, 5, 21, 85, 341, 1365, 5461],
      headBounds: [{ beta: 0.25, source: 'l2-static' }],
    };
    expect(normPolicy().decide(call, available)[0].backend).toBe('lowrank');
  });

  it('rejects bad options with clear errors', async () => {
    expect(() => createLowrankAttention({ epsilon: 0 })).toThrow(
      /lowrank create\(\): epsilon must be a positive finite number/,
    );
    expect(() => createLowrankAttention({ gMax: 2.5 })).toThrow(/gMax must be an integer/);
    expect(() => createLowrankAttention({ family: 'pade' as never })).toThrow(
      /family must be one of taylor-even, minimax-rel, chebyshev/,
    );
    const att = createLowrankAttention();
    const t = { shape: [1, 1, 2, 2], data: new Float32Array(4) };
    await expect(att.attend(t, t, t, { scale: 1, rMax: 0 } as never)).rejects.toThrow(
      /lowrank attend\(\): rMax must be a number ≥ 1/,
    );
    await expect(att.attend(t, t, t, { scale: 1, logitBound: Number.NaN })).rejects.toThrow(
      /logitBound must be a finite number ≥ 0/,
    );
  });
});
