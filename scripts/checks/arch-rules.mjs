#!/usr/bin/env node
/**
 * The architecture rules of docs/architecture.md §1, checked on the source files (not on dist/):
 *
 *   layers      a workspace package imports only packages of a lower layer (wasm-runtime, hub, bench-utils < core <
 *               plugs < cli < apps and scripts); a plug (backend-*, engine-*) never imports another plug.
 *   reach-in    no file imports another package's files by path (`../../core/src/…`, `@nextscale/core/src/…`);
 *               packages meet through their names and `exports`.
 *   cycles      no runtime import cycle between the files of a package (type-only imports are erased by the build
 *               and dynamic `import()` runs after loading, so neither can make one), and in core no cycle at all,
 *               type-only imports included.
 *
 * Imports are read with the TypeScript parser, so comments, strings and `import type` are told apart exactly.
 * Usage: node scripts/checks/arch-rules.mjs [root]   exit 0 when every rule holds, 1 with one line per violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workspaceDirs } from '../setup/workspace.mjs';

const ts = createRequire(import.meta.url)('typescript');

/** Layer of every workspace package, lowest first. A package missing here is itself a violation: place it. */
export const LAYERS = [
  { layer: 1, what: 'shared runtime', match: ['@nextscale/wasm-runtime', '@nextscale/hub', '@nextscale/bench-utils'] },
  { layer: 2, what: 'core', match: ['@nextscale/core'] },
  { layer: 3, what: 'plug', match: [/^@nextscale\/backend-/, /^@nextscale\/engine-/] },
  { layer: 4, what: 'cli', match: ['@nextscale/cli'] },
  { layer: 5, what: 'consumer', match: ['@nextscale/web', '@nextscale/scripts'] },
];

/** Packages whose files must form no cycle even through type-only imports. */
const NO_TYPE_CYCLES = new Set(['@nextscale/core']);

const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;
const SKIP_DIRS = new Set([
  'node_modules',
  'dist',
  'dist-browser',
  'dist-device',
  '.turbo',
  '.device',
  'fixtures',
  'bench-results',
]);
const RESOLVE_EXTS = ['', '.ts', '.tsx', '.mts', '.js', '.mjs', '/index.ts', '/index.js', '/index.mjs'];

export function layerOf(name) {
  return LAYERS.find((l) => l.match.some((m) => (typeof m === 'string' ? m === name : m.test(name))));
}

function sourceFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      // A nested package (another package.json) is walked as that package.
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.') && !existsSync(path.join(p, 'package.json'))) {
        out.push(...sourceFiles(p));
      }
    } else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts') && !e.name.includes('.generated.')) out.push(p);
  }
  return out;
}

/** Every module specifier of a file: { spec, typeOnly, dynamic }. */
export function importsOf(file, text = readFileSync(file, 'utf8')) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const allTypes = (elements) => elements.length > 0 && elements.every((e) => e.isTypeOnly);
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : [];
      const typeOnly =
        !!c &&
        (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && allTypes(named)));
      found.push({ spec: node.moduleSpecifier.text, typeOnly, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : [];
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || allTypes(named), dynamic: false });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      if (ts.isStringLiteral(e)) found.push({ spec: e.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0])) {
      const spec = node.arguments[0].text;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) found.push({ spec, typeOnly: false, dynamic: true });
      else if (ts.isIdentifier(node.expression) && node.expression.text === 'require')
        found.push({ spec, typeOnly: false, dynamic: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push({ spec: node.argument.literal.text, typeOnly: true, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** A relative specifier → the file it loads (`./x.js` is `./x.ts` in the sources), or undefined. */
function resolveRelative(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.(m|c)?js$/, '.$1ts'), base.replace(/\.(m|c)?js$/, '')];
  for (const c of candidates) {
    for (const ext of RESOLVE_EXTS) {
      const p = c + ext;
      if (existsSync(p) && statSync(p).isFile()) return p;
    }
  }
  return undefined;
}

/** Reads the workspace: packages with their layer and files, and every import edge. */
export function readWorkspace(root) {
  const packages = workspaceDirs(root).map((dir) => {
    const name = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name;
    return { name, dir, layer: layerOf(name), files: sourceFiles(dir) };
  });
  // Longest folder first, so a file belongs to its innermost package.
  const byDir = [...packages].sort((a, b) => b.dir.length - a.dir.length);
  const ownerOf = (file) => byDir.find((p) => file === p.dir || file.startsWith(p.dir + path.sep));
  const byName = new Map(packages.map((p) => [p.name, p]));
  const edges = [];
  for (const pkg of packages) {
    for (const file of pkg.files) {
      for (const imp of importsOf(file)) {
        const edge = { from: file, fromPkg: pkg, ...imp };
        if (imp.spec.startsWith('.')) {
          const target = resolveRelative(file, imp.spec);
          const owner = target ? ownerOf(target) : ownerOf(path.resolve(path.dirname(file), imp.spec));
          edges.push({ ...edge, to: target, toPkg: owner });
        } else {
          const m = /^(@nextscale\/[^/]+)(\/.*)?$/.exec(imp.spec);
          if (m) edges.push({ ...edge, toPkg: byName.get(m[1]), subpath: m[2] ?? '' });
        }
      }
    }
  }
  return { root, packages, edges };
}

const rel = (root, p) => path.relative(root, p).split(path.sep).join('/');

/** Tarjan's strongly connected components of the file graph: the cycles, each as a list of files. */
function cyclesOf(nodes, next) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? new Set()).has(v)) out.push(scc);
    }
  };
  for (const v of nodes) if (!idx.has(v)) strong(v);
  return out;
}

/** One path around a strongly connected component, starting at its first file in name order. */
function cyclePath(scc, next) {
  const inScc = new Set(scc);
  const start = [...scc].sort()[0];
  const seen = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of next.get(v) ?? []) {
      if (w === start) {
        const pathBack = [v];
        for (let p = seen.get(v); p !== null; p = seen.get(p)) pathBack.push(p);
        return [...pathBack.reverse(), start];
      }
      if (inScc.has(w) && !seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Every violation as { rule, message }, in a stable order. */
export function checkWorkspace(root) {
  const ws = readWorkspace(root);
  const violations = [];
  const add = (rule, message) => violations.push({ rule, message });
  for (const p of ws.packages) {
    if (!p.layer)
      add('layers', `${p.name} (${rel(root, p.dir)}) has no layer: add it to LAYERS in scripts/checks/arch-rules.mjs`);
  }
  for (const e of ws.edges) {
    const where = `${rel(root, e.from)} imports '${e.spec}'`;
    if (!e.toPkg || e.toPkg === e.fromPkg) continue;
    if (e.spec.startsWith('.') || /\/src(\/|$)/.test(e.subpath ?? '')) {
      add(
        'reach-in',
        `${where}: a file of ${e.toPkg.name} by path; import '${e.toPkg.name}' or one of its exports instead`,
      );
      continue;
    }
    const a = e.fromPkg.layer;
    const b = e.toPkg.layer;
    if (!a || !b) continue;
    if (a.layer === 3 && b.layer === 3) {
      add('layers', `${where}: a plug imports another plug; share the code through core or wasm-runtime`);
    } else if (b.layer >= a.layer) {
      add(
        'layers',
        `${where}: ${e.fromPkg.name} (layer ${a.layer}, ${a.what}) may import only lower layers, not ${e.toPkg.name} (layer ${b.layer}, ${b.what})`,
      );
    }
  }
  for (const pkg of ws.packages) {
    const withTypes = NO_TYPE_CYCLES.has(pkg.name);
    const next = new Map();
    for (const e of ws.edges) {
      if (e.fromPkg !== pkg || e.toPkg !== pkg || !e.to || e.dynamic || (e.typeOnly && !withTypes)) continue;
      if (!next.has(e.from)) next.set(e.from, new Set());
      next.get(e.from).add(e.to);
    }
    for (const scc of cyclesOf(pkg.files, next)) {
      const kind = withTypes ? 'import cycle (type-only imports included in core)' : 'runtime import cycle';
      add(
        'cycles',
        `${kind}: ${cyclePath(scc, next)
          .map((f) => rel(root, f))
          .join(' → ')}`,
      );
    }
  }
  return violations;
}

/**
 * Violations that exist on main and are being removed by the work of issue #23 (another branch). Each is matched
 * by its exact message; the check does not fail on them, and says so. Delete an entry once its fix has landed; an
 * entry that matches nothing is reported as stale.
 */
/** Violations tolerated while they are being fixed (each with its reason); none today. */
export const KNOWN = [];

export function partition(violations, known = KNOWN) {
  const text = (v) => `${v.rule}: ${v.message}`;
  const tolerated = violations.filter((v) => known.some((k) => k.test(text(v))));
  const failing = violations.filter((v) => !tolerated.includes(v));
  const stale = known.filter((k) => !violations.some((v) => k.test(text(v))));
  return { failing, tolerated, stale };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const { failing, tolerated, stale } = partition(checkWorkspace(root));
  for (const v of tolerated) console.error(`arch-rules: known, being fixed: ${v.rule}: ${v.message}`);
  for (const k of stale) console.error(`arch-rules: stale KNOWN entry (its violation is gone; delete it): ${k}`);
  for (const v of failing) console.error(`arch-rules: ${v.rule}: ${v.message}`);
  console.error(
    failing.length ? `arch-rules: ${failing.length} violation(s)` : 'arch-rules: layers, reach-ins and cycles ok',
  );
  process.exit(failing.length ? 1 : 0);
}
