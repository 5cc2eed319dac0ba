/**
 * The attention backends and policy of a generation. 'norm' is the CLI's default: the norm policy over the
 * exact cpu backend and the certified low-rank one. The others force one backend on every head (explicit
 * policy), which fails with the backend's own reason where it cannot run. The gpu backend (gpu.js) is loaded
 * only when asked for.
 */
import { createRegistry, explicitPolicy, normPolicy, type AttentionPolicy, type Registry } from '@nextscale/core';
import { backend as cpu } from '@nextscale/backend-cpu';
import { backend as lowrank } from '@nextscale/backend-lowrank';
import type { BackendChoice } from '../protocol.js';

export interface Routing {
  key: string;
  registry: Registry;
  policy: AttentionPolicy;
  backendOptions: Record<string, Record<string, unknown>>;
}

async function gpuBackend() {
  return (await import('@nextscale/backend-gpu')).backend;
}

export async function routing(choice: BackendChoice, epsilon: number, simd: boolean): Promise<Routing> {
  const registry = createRegistry();
  // Without SIMD the cpu backend runs its scalar TypeScript kernel, said so in the page's notice.
  const backendOptions: Record<string, Record<string, unknown>> = simd ? {} : { cpu: { kernel: 'js' } };
  const key = `${choice}|${epsilon}|${simd}`;
  switch (choice) {
    case 'norm':
      registry.register(cpu);
      registry.register(lowrank);
      return { key, registry, policy: normPolicy({ epsilon }), backendOptions };
    case 'cpu':
      registry.register(cpu);
      return { key, registry, policy: explicitPolicy('cpu'), backendOptions };
    case 'lowrank':
      registry.register(lowrank);
      return {
        key,
        registry,
        policy: explicitPolicy('lowrank'),
        backendOptions: { ...backendOptions, lowrank: { epsilon } },
      };
    case 'gpu':
      registry.register(await gpuBackend());
      return { key, registry, policy: explicitPolicy('gpu'), backendOptions };
  }
}

/** Whether gpu.js finds a device here (WebGPU or WebGL2 on hardware) and which mode it would take. */
export async function probeGpu(): Promise<{ available: boolean; detail: string }> {
  try {
    const b = await gpuBackend();
    const p = await b.probe();
    return { available: p.available, detail: p.reason };
  } catch (err) {
    return { available: false, detail: (err as Error).message };
  }
}
