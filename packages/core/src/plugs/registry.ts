/**
 * The one registry implementation, for both kinds of plug. Packages register their descriptor on import
 * (`@nextscale/<package>/register` calls `registerPlug`) into the default registry of its kind, which lives on a
 * global symbol so that duplicated copies of core share it.
 */
import { ATTENTION_API_VERSION } from '../attention/contract.js';
import type { AttentionBackend } from '../attention/contract.js';
import { ENGINE_API_VERSION } from '../engines/contract.js';
import type { DenseEngineDescriptor } from '../engines/contract.js';
import { jsEngine } from '../engines/js.js';
import { BackendUnavailableError, EngineUnavailableError, NextscaleError } from '../errors.js';
import type { PlugDescriptor, PlugKind, ProbeResult } from './contract.js';

/** A descriptor with what its probe said on this machine. */
export interface Available<D extends PlugDescriptor = PlugDescriptor> {
  descriptor: D;
  probe: ProbeResult;
}

/** What `create()` of a descriptor returns. */
export type InstanceOf<D extends PlugDescriptor> = Awaited<ReturnType<D['create']>>;

export interface Resolved<D extends PlugDescriptor = PlugDescriptor> extends Available<D> {
  instance: InstanceOf<D>;
}

export interface PlugRegistry<D extends PlugDescriptor = PlugDescriptor> {
  readonly kind: PlugKind;
  /** Registering the same descriptor (or the same package and version) twice is a no-op; another under a taken id throws. */
  register(descriptor: D): void;
  unregister(id: string): boolean;
  /** Every registered descriptor, highest priority first (then by id). */
  list(): D[];
  get(id: string): D | undefined;
  /** Probes every registered descriptor (concurrently), highest priority first; a probe that throws reads as unavailable. */
  probeAll(): Promise<Available<D>[]>;
  /**
   * Tries `ids` in order and creates the first that probes available; if none does, throws one error that lists
   * every id with its reason.
   */
  resolve(ids: readonly string[], options?: Record<string, unknown>): Promise<Resolved<D>>;
}

export type AvailableBackend = Available<AttentionBackend>;
export type AvailableEngine = Available<DenseEngineDescriptor>;

/** The attention-backend registry. */
export type Registry = PlugRegistry<AttentionBackend>;
/** The dense-engine registry. */
export type EngineRegistry = PlugRegistry<DenseEngineDescriptor>;

const KINDS: Record<PlugKind, { noun: string; apiVersion: number; packageFor(id: string): string; key: symbol }> = {
  attention: {
    noun: 'attention backend',
    apiVersion: ATTENTION_API_VERSION,
    packageFor: (id) => `@nextscale/backend-${id}`,
    key: Symbol.for('@nextscale/core/default-registry'),
  },
  engine: {
    noun: 'dense engine',
    apiVersion: ENGINE_API_VERSION,
    packageFor: (id) => (id === 'js' ? '@nextscale/core' : `@nextscale/engine-${id}`),
    key: Symbol.for('nextscale.engines'),
  },
};

/** The package a user installs to get the plug `id` of `kind`. */
export function packageFor(kind: PlugKind, id: string): string {
  return KINDS[kind].packageFor(id);
}

/** The package a user installs to get attention backend `id`. */
export const packageForBackend = (id: string): string => packageFor('attention', id);
/** The package a user installs to get dense engine `id`. */
export const packageForEngine = (id: string): string => packageFor('engine', id);

export function createPlugRegistry<D extends PlugDescriptor>(kind: PlugKind): PlugRegistry<D> {
  const { noun } = KINDS[kind];
  const plugs = new Map<string, D>();
  const sorted = () => [...plugs.values()].sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  return {
    kind,
    register(descriptor) {
      validateDescriptor(kind, descriptor);
      const existing = plugs.get(descriptor.id);
      if (existing === descriptor) return;
      if (existing) {
        if (existing.package === descriptor.package && existing.version === descriptor.version) return;
        throw new NextscaleError(
          'E_USAGE',
          `${noun} id "${descriptor.id}" is already registered by ${existing.package}@${existing.version}; ` +
            `${descriptor.package}@${descriptor.version} cannot take it (uninstall one of them)`,
        );
      }
      plugs.set(descriptor.id, descriptor);
    },
    unregister: (id) => plugs.delete(id),
    list: sorted,
    get: (id) => plugs.get(id),
    probeAll: () =>
      Promise.all(sorted().map(async (descriptor) => ({ descriptor, probe: await safeProbe(descriptor) }))),
    async resolve(ids, options) {
      const failures: { id: string; reason: string }[] = [];
      for (const id of ids) {
        const descriptor = plugs.get(id);
        if (!descriptor) {
          const pkg = packageFor(kind, id);
          failures.push({ id, reason: `not installed (install ${pkg} and import ${pkg}/register)` });
          continue;
        }
        const probe = await safeProbe(descriptor);
        if (!probe.available) {
          failures.push({ id, reason: probe.reason });
          continue;
        }
        try {
          return { descriptor, probe, instance: (await descriptor.create(options)) as InstanceOf<D> };
        } catch (err) {
          failures.push({ id, reason: `create() failed: ${(err as Error).message}` });
        }
      }
      const message =
        `no ${noun} available from [${ids.join(', ')}]: ` +
        failures.map((f) => `${f.id}: ${f.reason}`).join('; ') +
        `. Installed: [${[...plugs.keys()].join(', ') || 'none'}]`;
      if (kind === 'attention') throw new BackendUnavailableError(message, failures);
      const first = ids[0] ?? '';
      throw new EngineUnavailableError(message, first, packageFor(kind, first));
    },
  };
}

/** A descriptor's probe, never throwing: a probe that throws or returns no `{ available }` reads as unavailable. */
export async function safeProbe(descriptor: PlugDescriptor): Promise<ProbeResult> {
  try {
    const p = await descriptor.probe();
    if (!p || typeof p.available !== 'boolean')
      return { available: false, reason: 'probe() returned no { available }' };
    return typeof p.reason === 'string'
      ? p
      : { ...p, reason: p.available ? 'available' : 'its probe says unavailable' };
  } catch (err) {
    return { available: false, reason: `probe() threw: ${(err as Error).message}` };
  }
}

function validateDescriptor(kind: PlugKind, d: PlugDescriptor): void {
  const { noun, apiVersion } = KINDS[kind];
  const missing = (['id', 'package', 'version'] as const).filter((k) => typeof d?.[k] !== 'string' || !d[k]);
  if (
    missing.length ||
    typeof d.probe !== 'function' ||
    typeof d.create !== 'function' ||
    !Number.isFinite(d.priority)
  ) {
    throw new NextscaleError(
      'E_USAGE',
      `not ${article(noun)} ${noun} descriptor (missing ${[...missing, 'priority/probe/create'].join(', ')})`,
    );
  }
  if (d.kind !== kind) {
    throw new NextscaleError(
      'E_USAGE',
      `${d.package}@${d.version} is ${d.kind ? `a plug of kind "${String(d.kind)}"` : 'a descriptor without a kind'}, not ${article(noun)} ${noun}`,
    );
  }
  if (d.apiVersion !== apiVersion) {
    throw new NextscaleError(
      'E_USAGE',
      `${d.package}@${d.version} implements ${noun} API v${String(d.apiVersion)}, this core implements v${apiVersion}; ` +
        `install matching versions of @nextscale/core and ${d.package}`,
    );
  }
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? 'an' : 'a';
}

/** An empty attention-backend registry. */
export const createRegistry = (): Registry => createPlugRegistry('attention');

/** A dense-engine registry holding core's 'js' engine (pass `{ withReference: false }` for an empty one, in tests). */
export function createEngineRegistry(options: { withReference?: boolean } = {}): EngineRegistry {
  const registry = createPlugRegistry<DenseEngineDescriptor>('engine');
  if (options.withReference !== false) registry.register(jsEngine);
  return registry;
}

/** The process-wide registry of a kind, made on first use in its global slot. */
function defaultRegistry<R extends PlugRegistry>(kind: PlugKind, make: () => R): R {
  const slot = globalThis as unknown as Record<symbol, R | undefined>;
  return (slot[KINDS[kind].key] ??= make());
}

/** The process-wide attention-backend registry that `/register` entries register into. */
export const getDefaultRegistry = (): Registry => defaultRegistry('attention', createRegistry);
/** The process-wide dense-engine registry that `/register` entries register into (it always holds core's 'js'). */
export const getDefaultEngineRegistry = (): EngineRegistry => defaultRegistry('engine', createEngineRegistry);

/** What a package's `/register` entry calls: puts its descriptor into the default registry of its kind. */
export function registerPlug(descriptor: AttentionBackend | DenseEngineDescriptor): void {
  if (descriptor?.kind === 'attention') getDefaultRegistry().register(descriptor);
  else getDefaultEngineRegistry().register(descriptor as DenseEngineDescriptor);
}
