/**
 * The architecture rules (arch-rules.mjs) hold on this repository, and each rule fails on a violation planted in a
 * scratch workspace: a small one built here, and a copy of this repository's sources.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWorkspace, importsOf, KNOWN, partition } from './arch-rules.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(path.join(tmpdir(), 'nextscale-arch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let count = 0;
/** A workspace with one file per entry of `files` ({ 'packages/core/src/a.ts': 'source' }) and its package.json files. */
function workspace(files, packages = BASE_PACKAGES) {
  const root = path.join(scratch, `ws${count++}`);
  const write = (rel, text) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  write('pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - apps/*\n');
  for (const [dir, name] of Object.entries(packages)) write(`${dir}/package.json`, JSON.stringify({ name }));
  for (const [rel, text] of Object.entries(files)) write(rel, text);
  return root;
}

const BASE_PACKAGES = {
  'packages/wasm-runtime': '@nextscale/wasm-runtime',
  'packages/core': '@nextscale/core',
  'packages/backend-cpu': '@nextscale/backend-cpu',
  'packages/engine-wasm': '@nextscale/engine-wasm',
  'packages/cli': '@nextscale/cli',
  'apps/web': '@nextscale/web',
};

/** Every import points down, no cycles: the rules hold. */
const GOOD = {
  'packages/wasm-runtime/src/index.ts': `export const pool = 1;\n`,
  'packages/core/src/index.ts': `export { Tensor } from './tensor.js';\nimport type { Op } from './ops.js';\nexport type { Op };\n`,
  'packages/core/src/tensor.ts': `export class Tensor {}\n`,
  'packages/core/src/ops.ts': `import { Tensor } from './tensor.js';\nexport type Op = (t: Tensor) => Tensor;\n`,
  'packages/backend-cpu/src/index.ts': `import { Tensor } from '@nextscale/core';\nimport { pool } from '@nextscale/wasm-runtime';\nexport const b = [Tensor, pool];\n`,
  'packages/engine-wasm/src/index.ts': `import { Tensor } from '@nextscale/core';\nexport const e = Tensor;\n`,
  'packages/cli/src/index.ts': `import { b } from '@nextscale/backend-cpu';\nimport { e } from '@nextscale/engine-wasm';\nimport { run } from './program.js';\nexport const main = () => run(b, e);\n`,
  'packages/cli/src/program.ts': `export function run(...x: unknown[]) { return x; }\n`,
  'apps/web/src/main.ts': `import { b } from '@nextscale/backend-cpu';\nimport { Tensor } from '@nextscale/core';\nexport const m = [b, Tensor];\n`,
};

const rulesOf = (root) => checkWorkspace(root).map((v) => `${v.rule}: ${v.message}`);

describe('the architecture rules on a small workspace', () => {
  it('pass when every import points down and nothing cycles', () => {
    expect(rulesOf(workspace(GOOD))).toEqual([]);
  });

  it('fail on an upward import (core importing the CLI)', () => {
    const root = workspace({
      ...GOOD,
      'packages/core/src/tensor.ts': `import { main } from '@nextscale/cli';\nexport class Tensor {}\nexport const m = main;\n`,
    });
    expect(rulesOf(root)).toEqual([
      "layers: packages/core/src/tensor.ts imports '@nextscale/cli': @nextscale/core (layer 2, core) may import only lower layers, not @nextscale/cli (layer 4, cli)",
    ]);
  });

  it('fail on an upward type-only import too (a type is a dependency all the same)', () => {
    const root = workspace({
      ...GOOD,
      'packages/wasm-runtime/src/index.ts': `import type { Tensor } from '@nextscale/core';\nexport const pool = 1 as unknown as Tensor;\n`,
    });
    expect(rulesOf(root)).toEqual([
      expect.stringMatching(
        /^layers: .*@nextscale\/wasm-runtime \(layer 1, shared runtime\) may import only lower layers, not @nextscale\/core/,
      ),
    ]);
  });

  it('fail when a plug imports another plug', () => {
    const root = workspace({
      ...GOOD,
      'packages/engine-wasm/src/index.ts': `import { b } from '@nextscale/backend-cpu';\nexport const e = b;\n`,
    });
    expect(rulesOf(root)).toEqual([
      "layers: packages/engine-wasm/src/index.ts imports '@nextscale/backend-cpu': a plug imports another plug; share the code through core or wasm-runtime",
    ]);
  });

  it("fail when a package reaches into another package's src/, by path or by subpath", () => {
    const root = workspace({
      ...GOOD,
      'packages/cli/src/program.ts': `import { Tensor } from '../../core/src/tensor.js';\nexport function run(...x: unknown[]) { return [x, Tensor]; }\n`,
      'apps/web/src/main.ts': `import { Tensor } from '@nextscale/core/src/tensor.js';\nexport const m = Tensor;\n`,
    });
    expect(rulesOf(root)).toEqual([
      "reach-in: packages/cli/src/program.ts imports '../../core/src/tensor.js': a file of @nextscale/core by path; import '@nextscale/core' or one of its exports instead",
      "reach-in: apps/web/src/main.ts imports '@nextscale/core/src/tensor.js': a file of @nextscale/core by path; import '@nextscale/core' or one of its exports instead",
    ]);
  });

  it('fail on a runtime import cycle, and name its files in order', () => {
    const root = workspace({
      ...GOOD,
      'packages/cli/src/program.ts': `import { VERSION } from './commands/sample.js';\nexport function run(...x: unknown[]) { return [x, VERSION]; }\n`,
      'packages/cli/src/commands/sample.ts': `import { main } from '../index.js';\nexport const VERSION = String(main);\n`,
    });
    expect(rulesOf(root)).toEqual([
      'cycles: runtime import cycle: packages/cli/src/commands/sample.ts → packages/cli/src/index.ts → packages/cli/src/program.ts → packages/cli/src/commands/sample.ts',
    ]);
  });

  it('accept type-only and dynamic imports in a cycle outside core (neither runs at load time)', () => {
    const root = workspace({
      ...GOOD,
      'packages/cli/src/program.ts': `import type { main } from './index.js';\nexport function run(...x: unknown[]) { return [x, import('./index.js')] as unknown as typeof main; }\n`,
    });
    expect(rulesOf(root)).toEqual([]);
  });

  it('fail on a type-only cycle in core', () => {
    const root = workspace({
      ...GOOD,
      'packages/core/src/tensor.ts': `import type { Op } from './ops.js';\nexport class Tensor { op?: Op; }\n`,
    });
    expect(rulesOf(root)).toEqual([
      'cycles: import cycle (type-only imports included in core): packages/core/src/ops.ts → packages/core/src/tensor.ts → packages/core/src/ops.ts',
    ]);
  });

  it('fail on a package with no layer', () => {
    const root = workspace(GOOD, { ...BASE_PACKAGES, 'packages/extra': '@nextscale/extra' });
    expect(rulesOf(root)).toEqual(
      ['@nextscale/extra (packages/extra) has no layer: add it to LAYERS in scripts/checks/arch-rules.mjs'].map(
        (m) => `layers: ${m}`,
      ),
    );
  });

  it('read imports, not text that looks like them', () => {
    const text = [
      `// import { x } from '@nextscale/cli';`,
      `const s = "import '@nextscale/cli'";`,
      `import type { A } from './a.js';`,
      `import { type B, type C } from './b.js';`,
      `import { type D, E } from './d.js';`,
      `export type { F } from './f.js';`,
      `export * from './g.js';`,
      `import './side-effect.js';`,
      `const h = await import('./h.js');`,
      `type I = import('./i.js').I;`,
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([
      { spec: './a.js', typeOnly: true, dynamic: false },
      { spec: './b.js', typeOnly: true, dynamic: false },
      { spec: './d.js', typeOnly: false, dynamic: false },
      { spec: './f.js', typeOnly: true, dynamic: false },
      { spec: './g.js', typeOnly: false, dynamic: false },
      { spec: './side-effect.js', typeOnly: false, dynamic: false },
      { spec: './h.js', typeOnly: false, dynamic: true },
      { spec: './i.js', typeOnly: true, dynamic: false },
    ]);
  });
});

describe('the architecture rules on this repository', () => {
  it('hold on this repository, with nothing tolerated', () => {
    const { failing, tolerated } = partition(checkWorkspace(repo));
    expect(failing.map((v) => `${v.rule}: ${v.message}`)).toEqual([]);
    expect(tolerated).toEqual([]);
  });

  it('every tolerated violation is listed one by one, not by a catch-all', () => {
    for (const k of KNOWN) expect(k.source.length).toBeGreaterThan(60);
  });

  describe('a copy of its sources with planted violations', () => {
    const copy = path.join(scratch, 'repo');
    // Sources and package manifests only: no installs, builds, models or fixtures.
    const skip = new Set(['node_modules', 'dist', '.git', '.turbo', 'assets', 'fixtures', 'tools']);
    beforeAll(() => {
      cpSync(repo, copy, {
        recursive: true,
        filter: (src) => {
          const parts = path.relative(repo, src).split(path.sep);
          return !parts.some((p) => skip.has(p)) && !/\.(png|pth|safetensors|onnx|bin|wasm|npz)$/.test(src);
        },
      });
    });
    const plant = (rel, line) => {
      const file = path.join(copy, rel);
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, `${line}\n${original}`);
      return () => writeFileSync(file, original);
    };

    it('fails on an upward import: core importing the CLI', () => {
      const undo = plant('packages/core/src/tensor.ts', `import '@nextscale/cli';`);
      try {
        expect(partition(checkWorkspace(copy)).failing.map((v) => v.message)).toEqual([
          "packages/core/src/tensor.ts imports '@nextscale/cli': @nextscale/core (layer 2, core) may import only lower layers, not @nextscale/cli (layer 4, cli)",
        ]);
      } finally {
        undo();
      }
    });

    it('fails on a runtime cycle: the CLI command importing the entry again', () => {
      const undo = plant('packages/cli/src/commands/generate.ts', `import '../index.js';`);
      try {
        const failing = partition(checkWorkspace(copy)).failing;
        expect(failing.map((v) => v.rule)).toEqual(['cycles']);
        expect(failing[0].message).toMatch(
          /^runtime import cycle: .*packages\/cli\/src\/commands\/generate\.ts → packages\/cli\/src\/index\.ts/,
        );
      } finally {
        undo();
      }
    });

    it('passes once the plants are removed', () => {
      expect(partition(checkWorkspace(copy)).failing).toEqual([]);
    });
  });
});
