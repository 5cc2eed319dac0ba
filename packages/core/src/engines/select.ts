/**
 * Choosing the dense engine: a named one or nothing named (then the environment's NEXTSCALE_ENGINE, then the
 * highest-priority available engine). A named engine that is missing or cannot run here is an error naming the
 * package to install; there is never a silent fallback to another engine.
 */
import { EngineUnavailableError, UsageError } from '../errors.js';
import { readSettings } from '../settings.js';
import type { ProbeResult } from '../plugs/contract.js';
import type { DenseEngine, DenseEngineDescriptor } from './contract.js';
import { getDefaultEngineRegistry, packageForEngine, safeProbe, type EngineRegistry } from '../plugs/registry.js';

export interface SelectEngineOptions {
  /** Engine id ('js', 'wasm', 'onnx', …; 'wasm-pool' is an alias of 'wasm'). Default: NEXTSCALE_ENGINE, else the best available. */
  engine?: string;
  /** Default: the process-wide registry engine packages register into. */
  registry?: EngineRegistry;
  /** Threads for create() (default: NEXTSCALE_THREADS when set, else the engine's default). */
  threads?: number;
  /** Further options for create(). */
  createOptions?: Record<string, unknown>;
  /** Where NEXTSCALE_ENGINE / NEXTSCALE_THREADS are read (settings.ts; default: process.env); `{}` reads nothing. */
  env?: Record<string, string | undefined>;
}

export interface SelectedEngine {
  descriptor: DenseEngineDescriptor;
  probe: ProbeResult;
  engine: DenseEngine;
  /** How it was chosen: named by the caller, by NEXTSCALE_ENGINE, or the highest priority available. */
  chosenBy: 'option' | 'environment' | 'priority';
  /** Installed engines of higher priority that could not run here (chosen by priority only), with why: say so. */
  skipped: { descriptor: DenseEngineDescriptor; reason: string }[];
}

/** Older NEXTSCALE_ENGINE values that name the same engine ('wasm-pool' was the threaded wasm engine). */
const ALIASES: Record<string, string> = { 'wasm-pool': 'wasm' };

export function normalizeEngineId(id: string): string {
  const lower = id.trim().toLowerCase();
  return ALIASES[lower] ?? lower;
}

/** Engines created by selectEngine, per registry, descriptor and options: selecting twice reuses one (and its threads). */
const created = new WeakMap<EngineRegistry, Map<string, Promise<DenseEngine>>>();

export async function selectEngine(options: SelectEngineOptions = {}): Promise<SelectedEngine> {
  const registry = options.registry ?? getDefaultEngineRegistry();
  const settings = readSettings(options.env);
  const fromEnv = options.engine === undefined ? settings.engine : undefined;
  const named = options.engine ?? fromEnv;
  const threads = options.threads ?? settings.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new UsageError(`engine threads must be a positive integer, got ${threads}`);
  }

  let descriptor: DenseEngineDescriptor;
  let probe: ProbeResult;
  let skipped: SelectedEngine['skipped'] = [];
  if (named !== undefined) {
    const id = normalizeEngineId(named);
    const found = registry.get(id);
    const installed = registry.list().map((d) => d.id);
    const source = fromEnv !== undefined ? `NEXTSCALE_ENGINE=${named}` : `engine "${named}"`;
    if (!found) {
      const pkg = packageForEngine(id);
      throw new EngineUnavailableError(
        `${source}: no dense engine "${id}" is installed (install ${pkg} and import ${pkg}/register); installed: [${installed.join(', ')}]`,
        id,
        pkg,
      );
    }
    descriptor = found;
    probe = await safeProbe(found);
    if (!probe.available) {
      throw new EngineUnavailableError(
        `${source}: ${found.package} cannot run here: ${probe.reason}; installed: [${installed.join(', ')}]`,
        id,
        found.package,
      );
    }
  } else {
    const all = await registry.probeAll();
    const best = all.find((a) => a.probe.available);
    if (!best) {
      throw new EngineUnavailableError(
        `no dense engine is available: ${all.map((a) => `${a.descriptor.id}: ${a.probe.reason}`).join('; ')}`,
        'js',
        '@nextscale/core',
      );
    }
    ({ descriptor, probe } = best);
    skipped = all.slice(0, all.indexOf(best)).map((a) => ({ descriptor: a.descriptor, reason: a.probe.reason }));
  }

  const createOptions = { ...options.createOptions, ...(threads === undefined ? {} : { threads }) };
  const key = `${descriptor.id}\0${descriptor.package}@${descriptor.version}\0${stableKey(createOptions)}`;
  let perRegistry = created.get(registry);
  if (!perRegistry) created.set(registry, (perRegistry = new Map()));
  let pending = perRegistry.get(key);
  if (!pending) {
    pending = descriptor.create(createOptions);
    perRegistry.set(key, pending);
    pending.catch(() => perRegistry.delete(key));
  }
  let engine: DenseEngine;
  try {
    engine = await pending;
  } catch (err) {
    throw new EngineUnavailableError(
      `${descriptor.package}: creating dense engine "${descriptor.id}" failed: ${(err as Error).message}`,
      descriptor.id,
      descriptor.package,
    );
  }
  return {
    descriptor,
    probe,
    engine,
    skipped,
    chosenBy: options.engine !== undefined ? 'option' : fromEnv !== undefined ? 'environment' : 'priority',
  };
}

function stableKey(o: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}
