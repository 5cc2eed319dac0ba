/**
 * Backend registry. Backend packages register their descriptor on import (`@nextscale/backend-x/register`)
 * into the default registry, which lives on a global symbol so duplicated copies of core share it.
 */
import { BackendUnavailableError, NextscaleError } from '../errors.js';
import { ATTENTION_API_VERSION, type AttentionBackend, type AttentionInstance, type ProbeResult } from './contract.js';

export interface AvailableBackend {
  backend: AttentionBackend;
  probe: ProbeResult;
}

export interface ResolvedBackend extends AvailableBackend {
  instance: AttentionInstance;
}

export interface Registry {
  /** Registering the same descriptor twice is a no-op; another descriptor under a taken id throws. */
  register(backend: AttentionBackend): void;
  unregister(id: string): boolean;
  list(): AttentionBackend[];
  get(id: string): AttentionBackend | undefined;
  /** Probes every registered backend (concurrently) and reports each result. */
  probeAll(): Promise<AvailableBackend[]>;
  /**
   * Tries `ids` in order and creates the first that probes available; if none does, throws one
   * error that lists every id with its reason.
   */
  resolve(ids: readonly string[], options?: Record<string, unknown>): Promise<ResolvedBackend>;
}

/** The package a user installs to get backend `id`. */
export function packageForBackend(id: string): string {
  return `@nextscale/backend-${id}`;
}

export function createRegistry(): Registry {
  const backends = new Map<string, AttentionBackend>();

  const registry: Registry = {
    register(backend) {
      validateDescriptor(backend);
      const existing = backends.get(backend.id);
      if (existing === backend) return;
      if (existing) {
        if (existing.package === backend.package && existing.version === backend.version) return;
        throw new NextscaleError(
          'E_USAGE',
          `attention backend id "${backend.id}" is already registered by ${existing.package}@${existing.version}; ` +
            `${backend.package}@${backend.version} cannot take it (uninstall one of them)`,
        );
      }
      backends.set(backend.id, backend);
    },
    unregister(id) {
      return backends.delete(id);
    },
    list() {
      return [...backends.values()];
    },
    get(id) {
      return backends.get(id);
    },
    async probeAll() {
      return Promise.all([...backends.values()].map(async (backend) => ({ backend, probe: await safeProbe(backend) })));
    },
    async resolve(ids, options) {
      const failures: { id: string; reason: string }[] = [];
      for (const id of ids) {
        const backend = backends.get(id);
        if (!backend) {
          failures.push({ id, reason: `not installed (install ${packageForBackend(id)} and import ${packageForBackend(id)}/register)` });
          continue;
        }
        const probe = await safeProbe(backend);
        if (!probe.available) {
          failures.push({ id, reason: probe.reason });
          continue;
        }
        try {
          return { backend, probe, instance: await backend.create(options) };
        } catch (err) {
          failures.push({ id, reason: `create() failed: ${(err as Error).message}` });
        }
      }
      throw new BackendUnavailableError(
        `no attention backend available from [${ids.join(', ')}]: ` +
          failures.map((f) => `${f.id}: ${f.reason}`).join('; ') +
          `. Installed: [${[...backends.keys()].join(', ') || 'none'}]`,
        failures,
      );
    },
  };
  return registry;
}

async function safeProbe(backend: AttentionBackend): Promise<ProbeResult> {
  try {
    return await backend.probe();
  } catch (err) {
    return { available: false, reason: `probe() threw: ${(err as Error).message}` };
  }
}

function validateDescriptor(b: AttentionBackend): void {
  const missing = (['id', 'package', 'version'] as const).filter((k) => typeof b?.[k] !== 'string' || !b[k]);
  if (missing.length || typeof b.probe !== 'function' || typeof b.create !== 'function') {
    throw new NextscaleError('E_USAGE', `not an attention backend descriptor (missing ${[...missing, 'probe/create'].join(', ')})`);
  }
  if (b.apiVersion !== ATTENTION_API_VERSION) {
    throw new NextscaleError(
      'E_USAGE',
      `${b.package}@${b.version} implements attention API v${b.apiVersion}, this core implements v${ATTENTION_API_VERSION}; ` +
        `install matching versions of @nextscale/core and ${b.package}`,
    );
  }
}

const DEFAULT_REGISTRY_KEY = Symbol.for('@nextscale/core/default-registry');

/** The process-wide registry that `@nextscale/backend-x/register` entries register into. */
export function getDefaultRegistry(): Registry {
  const slot = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (slot[DEFAULT_REGISTRY_KEY] ??= createRegistry());
}

/**
 * A fresh instance of the backend registered under `id` in the default registry. For benchmark scripts that
 * time one backend against an exact baseline chosen by whoever runs them (`node --import
 * @nextscale/backend-cpu/register …`), so that no backend package imports another.
 */
export async function createRegisteredBackend(id: string): Promise<AttentionInstance> {
  const b = getDefaultRegistry().get(id);
  if (!b) {
    const registered = getDefaultRegistry().list().map((x) => x.id);
    throw new NextscaleError(
      'E_BACKEND_UNAVAILABLE',
      `no '${id}' attention backend is registered (registered: [${registered.join(', ')}]) — run with node --import @nextscale/backend-${id}/register`,
    );
  }
  return b.create();
}
