/**
 * The CLI's own package: its folder (where its dependencies resolve from) and its version, read from its
 * package.json so that `--version`, sample manifests and the package never disagree.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@nextscale/cli';

function readJson(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The folder of the CLI package: the nearest package.json named @nextscale/cli above this module (dist/ or src/). */
export function cliPackageDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj) && readJson(pj)?.name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) return here;
  }
}

/** The CLI's version, from its package.json. */
export const VERSION: string = String(readJson(path.join(cliPackageDir(), 'package.json'))?.version ?? 'unknown');
