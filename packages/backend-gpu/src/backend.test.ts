import { createRegistry, priorityPolicy } from '@nextscale/core';
import { describe, expect, it } from 'vitest';
import { backend } from './index.js';

describe('gpu backend descriptor', () => {
  it('probes as unavailable and says why', async () => {
    const probe = await backend.probe();
    expect(probe.available).toBe(false);
    expect(probe.reason).toMatch(/not implemented/);
  });

  it('is skipped by resolution with its reason in the aggregated error', async () => {
    const registry = createRegistry();
    registry.register(backend);
    await expect(registry.resolve(['gpu'])).rejects.toThrow(/gpu: the gpu\.js kernels are not implemented/);
    const available = await registry.probeAll();
    expect(() => priorityPolicy(['gpu']).decide({ site: 's', heads: 1 } as never, available)).toThrow(/gpu: .*not implemented/);
  });
});
