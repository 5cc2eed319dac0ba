/**
 * Engine registry, the same shape as the attention-backend registry: engine packages register their descriptor on
 * import (`@nextscale/engine-x/register`) into the default registry, which lives on a global symbol so duplicated
 * copies of core share it. Core registers its own 'js' engine (the TypeScript reference) in every registry.
 */
import { NextscaleError } from '../errors.js';
import { ENGINE_API_VERSION, type DenseEngineDescriptor, type EngineProbe } from './contract.js';
import { jsEngine } from './js.js';

export interface AvailableEngine {
  descriptor: DenseEngineDescriptor;
  probe: EngineProbe;
}

export interface EngineRegistry {
  /** Registering the same descriptor twice is a no-op; another descriptor under a taken id throws. */
  register(descriptor: DenseEngineDescriptor): void;
  unregister(id: string): boolean;
  /** Every registered engine, highest priority first. */
  list(): DenseEngineDescriptor[];
  get(id: string): DenseEngineDescriptor | undefined;
  /** Probes every registered engine (concurrently), highest priority first. */
  probeAll(): Promise<AvailableEngine[]>;
}

/** The package a user installs to get engine `id`. */
export function packageForEngine(id: string): string {
  return id === 'js' ? '@nextscale/core' : `@nextscale/engine-${id}`;
}

/** A registry holding core's 'js' engine (pass `{ withReference: false }` for an empty one, in tests). */
export function createEngineRegistry(options: { withReference?: boolean } = {}): EngineRegistry {
  const engines = new Map<string, DenseEngineDescriptor>();
  const sorted = () => [...engines.values()].sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  const registry: EngineRegistry = {
    register(descriptor) {
      validateDescriptor(descriptor);
      const existing = engines.get(descriptor.id);
      if (existing === descriptor) return;
      if (existing) {
        if (existing.packageName === descriptor.packageName && existing.version === descriptor.version) return;
        throw new NextscaleError(
          'E_USAGE',
          `dense engine id "${descriptor.id}" is already registered by ${existing.packageName}@${existing.version}; ` +
            `${descriptor.packageName}@${descriptor.version} cannot take it (uninstall one of them)`,
        );
      }
      engines.set(descriptor.id, descriptor);
    },
    unregister: (id) => engines.delete(id),
    list: sorted,
    get: (id) => engines.get(id),
    probeAll: () => Promise.all(sorted().map(async (descriptor) => ({ descriptor, probe: await safeProbe(descriptor) }))),
  };
  if (options.withReference !== false) registry.register(jsEngine);
  return registry;
}

export async function safeProbe(descriptor: DenseEngineDescriptor): Promise<EngineProbe> {
  try {
    const p = await descriptor.probe();
    return p && typeof p.available === 'boolean' ? p : { available: false, reason: 'probe() returned no { available }' };
  } catch (err) {
    return { available: false, reason: `probe() threw: ${(err as Error).message}` };
  }
}

function validateDescriptor(d: DenseEngineDescriptor): void {
  const missing = (['id', 'packageName', 'version'] as const).filter((k) => typeof d?.[k] !== 'string' || !d[k]);
  if (missing.length || typeof d.probe !== 'function' || typeof d.create !== 'function' || !Number.isFinite(d.priority)) {
    throw new NextscaleError('E_USAGE', `not a dense engine descriptor (missing ${[...missing, 'priority/probe/create'].join(', ')})`);
  }
  if (d.apiVersion !== ENGINE_API_VERSION) {
    throw new NextscaleError(
      'E_USAGE',
      `${d.packageName}@${d.version} implements dense-engine API v${String(d.apiVersion)}, this core implements ` +
        `v${ENGINE_API_VERSION}; install matching versions of @nextscale/core and ${d.packageName}`,
    );
  }
}

const DEFAULT_ENGINE_REGISTRY_KEY = Symbol.for('nextscale.engines');

/** The process-wide registry that `@nextscale/engine-x/register` entries register into. */
export function getDefaultEngineRegistry(): EngineRegistry {
  const slot = globalThis as unknown as Record<symbol, EngineRegistry | undefined>;
  return (slot[DEFAULT_ENGINE_REGISTRY_KEY] ??= createEngineRegistry());
}

/** Registers an engine descriptor in the default registry (what a package's `/register` entry calls). */
export function registerEngine(descriptor: DenseEngineDescriptor): void {
  getDefaultEngineRegistry().register(descriptor);
}
