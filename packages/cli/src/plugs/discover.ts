/**
 * Finds plug packages (attention backends and dense engines, one code path for both kinds) and loads their
 * descriptors into a registry of that kind.
 *
 * Which packages: those named in the config file (`backends` / `engines`), else every `@nextscale/backend-*` /
 * `@nextscale/engine-*` package resolvable from the project (the cwd, walking up through node_modules folders) and
 * then from the CLI's own install. The cpu backend and the wasm engine are dependencies of the CLI, so they are
 * always there; core's TypeScript reference engine ('js') is in every engine registry.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createEngineRegistry,
  createRegistry,
  type AttentionBackend,
  type DenseEngineDescriptor,
  type PlugKind,
  type PlugRegistry,
} from '@nextscale/core';
import { cliPackageDir } from '../package-info.js';

/** What each kind of plug looks like on disk, where the config file lists them, and the one the CLI depends on. */
export const PLUG_KINDS = {
  attention: {
    prefix: 'backend-',
    exportName: 'backend',
    configKey: 'backends',
    what: 'an attention backend',
    bundled: '@nextscale/backend-cpu',
    known: [
      { id: 'cpu', package: '@nextscale/backend-cpu', what: 'exact attention on the CPU' },
      { id: 'gpu', package: '@nextscale/backend-gpu', what: 'exact attention through gpu.js' },
      {
        id: 'lowrank',
        package: '@nextscale/backend-lowrank',
        what: 'polynomial-method low-rank attention with a certified error',
      },
    ],
  },
  engine: {
    prefix: 'engine-',
    exportName: 'engine',
    configKey: 'engines',
    what: 'a dense engine',
    bundled: '@nextscale/engine-wasm',
    known: [
      {
        id: 'wasm',
        package: '@nextscale/engine-wasm',
        what: 'WebAssembly SIMD GEMM on a worker pool (installed with the CLI)',
      },
      { id: 'onnx', package: '@nextscale/engine-onnx', what: 'ONNX Runtime (onnxruntime-node, CPU)' },
    ],
  },
} as const;

export const KNOWN_BACKENDS = PLUG_KINDS.attention.known;
export const KNOWN_ENGINES = PLUG_KINDS.engine.known;

/** The descriptor type of each kind. */
export interface DescriptorOf {
  attention: AttentionBackend;
  engine: DenseEngineDescriptor;
}

export type DiscoverySource = 'config' | 'project' | 'cli';

export interface FoundPackage {
  name: string;
  version: string;
  dir: string;
  from: DiscoverySource;
}

export interface LoadedPlug<D> extends FoundPackage {
  descriptor?: D;
  /** Why the package could not be used (import failed, no descriptor, id clash). */
  error?: string;
}

export interface Discovery<K extends PlugKind = 'attention'> {
  registry: PlugRegistry<DescriptorOf[K]>;
  loaded: LoadedPlug<DescriptorOf[K]>[];
  /** Config-named packages that could not be found. */
  missing: string[];
}

export interface DiscoverOptions {
  cwd: string;
  /** Package names from the config file; when given, only these (plus the CLI's own plug of this kind). */
  packages?: string[];
  /** Folder of the config file (config packages resolve from there first). */
  configDir?: string;
}

function nodeModulesChain(from: string): string[] {
  const dirs: string[] = [];
  let dir = path.resolve(from);
  for (;;) {
    if (path.basename(dir) !== 'node_modules') dirs.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

function readPackage(dir: string): { name: string; version: string } | undefined {
  try {
    const pj = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    return typeof pj.name === 'string' ? { name: pj.name, version: String(pj.version ?? '0.0.0') } : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves a package name the way Node would from `from` (node_modules folders upward). */
function resolvePackageDir(name: string, from: string): string | undefined {
  for (const nm of nodeModulesChain(from)) {
    const dir = path.join(nm, ...name.split('/'));
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

/**
 * In a clone of the nextscale repository the CLI runs from packages/cli, and the optional plug-ins are
 * its sibling workspace packages rather than installed dependencies. A config file inside the clone may
 * name them (`"backends": ["@nextscale/backend-lowrank"]`) without a relative path. Projects outside the
 * clone see only what they install, as they would with the published CLI.
 */
function resolveWorkspacePackageDir(name: string, cliDir: string, projectDir: string): string | undefined {
  const root = path.dirname(path.dirname(cliDir));
  if (!existsSync(path.join(root, 'pnpm-workspace.yaml'))) return undefined;
  const inside = path.relative(safeRealpath(root), safeRealpath(projectDir));
  if (inside.startsWith('..') || path.isAbsolute(inside)) return undefined;
  for (const group of ['packages', 'apps']) {
    let entries: string[];
    try {
      entries = readdirSync(path.join(root, group));
    } catch {
      continue;
    }
    for (const e of entries) {
      const dir = path.join(root, group, e);
      if (readPackage(dir)?.name === name) return dir;
    }
  }
  return undefined;
}

/** Where a package named in the config file is: from the config's folder, the project, the CLI's install, the clone. */
function resolveConfiguredPackageDir(
  name: string,
  o: { cwd: string; configDir?: string },
  cliDir: string,
): string | undefined {
  return (
    (o.configDir && resolvePackageDir(name, o.configDir)) ||
    resolvePackageDir(name, o.cwd) ||
    resolvePackageDir(name, cliDir) ||
    resolveWorkspacePackageDir(name, cliDir, o.configDir ?? o.cwd)
  );
}

/** Every `@nextscale/<prefix>*` package visible from `from`, nearest first. */
function scanPlugPackages(from: string, prefix: string): { name: string; dir: string }[] {
  const seen = new Map<string, string>();
  for (const nm of nodeModulesChain(from)) {
    const scope = path.join(nm, '@nextscale');
    let entries: string[];
    try {
      entries = readdirSync(scope);
    } catch {
      continue;
    }
    for (const e of entries.sort()) {
      if (!e.startsWith(prefix)) continue;
      const dir = path.join(scope, e);
      const name = `@nextscale/${e}`;
      try {
        if (!statSync(dir).isDirectory() || seen.has(name)) continue;
      } catch {
        continue; // dangling link
      }
      if (existsSync(path.join(dir, 'package.json'))) seen.set(name, dir);
    }
  }
  return [...seen].map(([name, dir]) => ({ name, dir }));
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The file a bare `import(name)` would load: exports["."] (import/default) or main. */
function packageEntry(dir: string): string {
  const pj = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  let target: unknown = pj.exports;
  if (target && typeof target === 'object' && !Array.isArray(target) && '.' in (target as object))
    target = (target as Record<string, unknown>)['.'];
  for (let i = 0; i < 4 && target && typeof target === 'object'; i++) {
    const t = target as Record<string, unknown>;
    target = t['import'] ?? t['node'] ?? t['default'];
  }
  const rel = typeof target === 'string' ? target : (pj.module ?? pj.main ?? 'index.js');
  return path.join(dir, rel);
}

/** Whether `x` looks like a plug descriptor (an attention backend's or a dense engine's): an id, probe and create. */
function isPlugDescriptor(x: unknown): x is { id: string; probe: unknown; create: unknown } {
  const b = x as { id?: unknown; probe?: unknown; create?: unknown } | undefined;
  return !!b && typeof b.id === 'string' && typeof b.probe === 'function' && typeof b.create === 'function';
}

/** Imports one package and returns the descriptor it exports as `exportName`, or why it cannot be used. */
async function importDescriptor(
  pkg: FoundPackage,
  exportName: string,
  what: string,
): Promise<{ descriptor?: unknown; error?: string }> {
  let entry: string;
  try {
    entry = packageEntry(pkg.dir);
  } catch (err) {
    return { error: `unreadable package.json: ${(err as Error).message}` };
  }
  if (!existsSync(entry))
    return { error: `its entry ${path.relative(pkg.dir, entry)} is missing (is the package built?)` };
  try {
    const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    const descriptor = mod[exportName] ?? (mod['default'] as Record<string, unknown> | undefined)?.[exportName];
    if (!isPlugDescriptor(descriptor))
      return { error: `it does not export ${what} descriptor named \`${exportName}\`` };
    return { descriptor };
  } catch (err) {
    return { error: `import failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** The packages of `kind` to load, without importing them. Project before the CLI's install; no duplicates. */
function findPlugPackages(kind: PlugKind, o: DiscoverOptions): { found: FoundPackage[]; missing: string[] } {
  const { prefix, bundled } = PLUG_KINDS[kind];
  const cliDir = cliPackageDir();
  const found: FoundPackage[] = [];
  const missing: string[] = [];
  const add = (name: string, dir: string, from: DiscoverySource) => {
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
    const own = resolvePackageDir(bundled, cliDir);
    if (own) add(bundled, own, 'cli');
  } else {
    for (const p of scanPlugPackages(o.cwd, prefix)) add(p.name, p.dir, 'project');
    for (const p of scanPlugPackages(cliDir, prefix)) add(p.name, p.dir, 'cli');
  }
  return { found, missing };
}

/** Imports one package and returns the descriptor of `kind` it exports, or why it cannot be used. */
async function importPlug<K extends PlugKind>(kind: K, pkg: FoundPackage): Promise<LoadedPlug<DescriptorOf[K]>> {
  const { exportName, what } = PLUG_KINDS[kind];
  const r = await importDescriptor(pkg, exportName, what);
  return r.error ? { ...pkg, error: r.error } : { ...pkg, descriptor: r.descriptor as DescriptorOf[K] };
}

/** Finds, imports and registers every plug package of `kind`; problems are reported, not thrown. */
export async function discoverPlugs<K extends PlugKind>(kind: K, o: DiscoverOptions): Promise<Discovery<K>> {
  const { found, missing } = findPlugPackages(kind, o);
  const loaded = await Promise.all(found.map((p) => importPlug(kind, p)));
  const registry = (kind === 'attention' ? createRegistry() : createEngineRegistry()) as PlugRegistry<DescriptorOf[K]>;
  for (const l of loaded) {
    if (!l.descriptor) continue;
    try {
      registry.register(l.descriptor);
    } catch (err) {
      l.error = (err as Error).message;
      delete l.descriptor;
    }
  }
  return { registry, loaded, missing };
}

export const discoverBackends = (o: DiscoverOptions): Promise<Discovery<'attention'>> => discoverPlugs('attention', o);

export function installHint(id: string): string {
  const known = KNOWN_BACKENDS.find((k) => k.id === id);
  return `npm i ${known?.package ?? `@nextscale/backend-${id}`}`;
}
