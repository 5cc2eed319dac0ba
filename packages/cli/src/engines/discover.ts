/**
 * Finds dense-engine packages and loads their descriptors into an engine registry, the way backends are found
 * (backends/discover.ts): the packages named in the config file (`engines`), else every `@nextscale/engine-*`
 * package resolvable from the project and then from the CLI's own install. The wasm engine is a dependency of the
 * CLI, so it is always there; core's TypeScript reference ('js') is in every registry.
 */
import { createEngineRegistry, type DenseEngineDescriptor, type EngineRegistry } from '@nextscale/core';
import { cliPackageDir, importDescriptor, readPackage, resolveConfiguredPackageDir, resolvePackageDir, safeRealpath, scanBackendPackages, type FoundPackage } from '../backends/discover.js';

export const KNOWN_ENGINES = [
  { id: 'wasm', package: '@nextscale/engine-wasm', what: 'WebAssembly SIMD GEMM on a worker pool (installed with the CLI)' },
  { id: 'onnx', package: '@nextscale/engine-onnx', what: 'ONNX Runtime (onnxruntime-node, CPU)' },
] as const;

export interface LoadedEngine extends FoundPackage {
  engine?: DenseEngineDescriptor;
  error?: string;
}

export interface EngineDiscovery {
  registry: EngineRegistry;
  loaded: LoadedEngine[];
  missing: string[];
}

export interface EngineDiscoverOptions {
  cwd: string;
  /** Package names from the config file; when given, only these (plus the CLI's wasm engine). */
  packages?: string[];
  configDir?: string;
}

export function findEnginePackages(o: EngineDiscoverOptions): { found: FoundPackage[]; missing: string[] } {
  const cliDir = cliPackageDir();
  const found: FoundPackage[] = [];
  const missing: string[] = [];
  const add = (name: string, dir: string, from: FoundPackage['from']) => {
    const real = safeRealpath(dir);
    if (found.some((f) => f.name === name || safeRealpath(f.dir) === real)) return;
    found.push({ name, version: readPackage(dir)?.version ?? 'unknown', dir, from });
  };
  if (o.packages) {
    for (const name of o.packages) {
      const dir = resolveConfiguredPackageDir(name, o, cliDir);
      if (dir) add(name, dir, 'config');
      else missing.push(name);
    }
    const wasm = resolvePackageDir('@nextscale/engine-wasm', cliDir);
    if (wasm) add('@nextscale/engine-wasm', wasm, 'cli');
  } else {
    for (const p of scanBackendPackages(o.cwd, 'engine-')) add(p.name, p.dir, 'project');
    for (const p of scanBackendPackages(cliDir, 'engine-')) add(p.name, p.dir, 'cli');
  }
  return { found, missing };
}

/** Imports one package and returns its `engine` descriptor. */
export async function importEngine(pkg: FoundPackage): Promise<LoadedEngine> {
  const r = await importDescriptor(pkg, 'engine', 'a dense engine');
  return r.error ? { ...pkg, error: r.error } : { ...pkg, engine: r.descriptor as DenseEngineDescriptor };
}

/** Finds, imports and registers every engine package; problems are reported, not thrown. */
export async function discoverEngines(o: EngineDiscoverOptions): Promise<EngineDiscovery> {
  const { found, missing } = findEnginePackages(o);
  const loaded = await Promise.all(found.map(importEngine));
  const registry = createEngineRegistry();
  for (const l of loaded) {
    if (!l.engine) continue;
    try {
      registry.register(l.engine);
    } catch (err) {
      l.error = (err as Error).message;
      delete l.engine;
    }
  }
  return { registry, loaded, missing };
}
