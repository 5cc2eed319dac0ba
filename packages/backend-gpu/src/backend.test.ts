import { createRegistry, priorityPolicy, Tensor } from '@nextscale/core';
import { testAttentionBackend } from '@nextscale/core/testing';
import { describe, expect, it } from 'vitest';
import { backend, chooseMode, createGpuAttention, modeSupported } from './index.js';

// The same suite in every gpu.js mode this machine can run. In Node without a display that is
// WebAssembly and gpu.js's JS mode; shader modes run in the browser test.
for (const mode of ['webasm', 'cpu'] as const) {
  testAttentionBackend(
    { ...backend, create: () => createGpuAttention({ mode }) },
    { tolerance: 5e-6, label: `mode ${mode}` },
  );
}

describe('gpu backend mode selection', () => {
  it('probe names the mode it would use and why', async () => {
    const probe = await backend.probe();
    expect(probe.available).toBe(true);
    expect(probe.reason).toMatch(/gpu\.js mode "(webgpu|webgl2|headlessgl|webasm)"/);
    expect(probe.details?.mode).toBeTypeOf('string');
  });

  it('never picks a software or missing adapter automatically, and says what it skipped', async () => {
    const choice = await chooseMode();
    expect(choice.mode).toBe('webasm');
    expect(choice.skipped.map((s) => s.mode)).toEqual(['webgpu', 'webgl2', 'headlessgl']);
    expect(choice.reason).toMatch(/no hardware GPU path/);
    // Dawn's Node binding is a dev dependency, but this machine has no Vulkan loader for it.
    expect(choice.skipped[0].reason).toMatch(/no Vulkan loader \(libvulkan\.so\.1\) for Dawn/);
  });

  it('refuses an unavailable or unknown explicit mode with the reason', async () => {
    expect((await modeSupported('headlessgl')).ok).toBe(false);
    await expect(createGpuAttention({ mode: 'webgl2' })).rejects.toThrow(
      /mode "webgl2" requested but unavailable: no WebGL2/,
    );
    await expect(createGpuAttention({ mode: 'metal' as never })).rejects.toThrow(/unknown gpu\.js mode "metal"/);
  });

  it('ranks below the cpu backend when it would only run on WebAssembly', async () => {
    const probe = await backend.probe();
    expect(probe.priority).toBe(5);
    const registry = createRegistry();
    registry.register(backend);
    const cpuLike = {
      ...backend,
      id: 'cpu',
      package: 'cpu-double',
      priority: 10,
      probe: async () => ({ available: true, reason: 'ok' }),
    };
    registry.register(cpuLike);
    expect(priorityPolicy().decide({ site: 's', heads: 1 } as never, await registry.probeAll())[0].backend).toBe('cpu');
  });

  it('reports its mode on the instance, and runs both kernels as one fused gpu.js pipeline in that mode', async () => {
    const att = await createGpuAttention({ mode: 'webasm' });
    expect(att.mode).toBe('webasm');
    expect(att.executedOn).toBeUndefined();
    const x = new Tensor(
      [1, 2, 5, 4],
      Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)),
    );
    await att.attend(x, x, x, { scale: 0.5 });
    // 'generic' would mean gpu.js declined to fuse (a host round trip between the kernels).
    expect(att.executedOn).toEqual({ executor: expect.stringMatching(/^fused-(threaded|sync)$/), mode: 'webasm' });
    await att.dispose();
  });
});
