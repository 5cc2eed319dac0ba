import { describe, expect, it } from 'vitest';
import { explicitPolicy, priorityPolicy, type AttentionCall } from './policy.js';
import { fakeBackend } from './test-doubles.js';
import type { AvailableBackend } from '../plugs/registry.js';

const call: AttentionCall = {
  site: 'var.blocks.0.attn',
  layer: 0,
  batch: 2,
  heads: 3,
  headDim: 8,
  scale: 1,
  mask: 'block-causal',
  scaleEnds: [1, 5, 14, 30],
};

function avail(id: string, over: { available?: boolean; exact?: boolean; priority?: number } = {}): AvailableBackend {
  return {
    descriptor: fakeBackend(id, { exact: over.exact ?? true, priority: over.priority ?? 1 }),
    probe: { available: over.available ?? true, reason: over.available === false ? `${id} cannot run` : 'ok' },
  };
}

describe('explicit policy', () => {
  it('assigns every head to the named backend', () => {
    const d = explicitPolicy('cpu').decide(call, [avail('cpu')]);
    expect(d).toEqual([{ heads: [0, 1, 2], backend: 'cpu', reason: 'explicit choice of "cpu"' }]);
  });

  it('names what is installed and the package to install when the backend is missing', () => {
    expect(() => explicitPolicy('gpu').decide(call, [avail('cpu'), avail('lowrank', { available: false })])).toThrow(
      /"gpu" is not installed \(installed: cpu, lowrank \(unavailable\)\); install @nextscale\/backend-gpu/,
    );
  });

  it('reports the probe reason when the backend cannot run', () => {
    expect(() => explicitPolicy('gpu').decide(call, [avail('gpu', { available: false })])).toThrow(
      /cannot run here: gpu cannot run/,
    );
  });
});

describe('priority policy', () => {
  it('picks the highest-priority available exact backend and never an approximate one unasked', () => {
    const backends = [
      avail('cpu', { priority: 10 }),
      avail('gpu', { priority: 20, available: false }),
      avail('lowrank', { exact: false, priority: 99 }),
    ];
    expect(priorityPolicy().decide(call, backends)[0].backend).toBe('cpu');
    expect(
      priorityPolicy().decide(call, [avail('cpu', { priority: 10 }), avail('gpu', { priority: 20 })])[0].backend,
    ).toBe('gpu');
  });

  it('follows an explicit order and says which candidates failed', () => {
    const d = priorityPolicy(['gpu', 'cpu']).decide(call, [avail('cpu'), avail('gpu', { available: false })]);
    expect(d[0].backend).toBe('cpu');
    expect(d[0].reason).toMatch(/after gpu failed/);
  });

  it('aggregates every failure when nothing is available', () => {
    expect(() => priorityPolicy(['gpu', 'webnn']).decide(call, [avail('gpu', { available: false })])).toThrow(
      /gpu: gpu cannot run; webnn: not installed/,
    );
  });
});
