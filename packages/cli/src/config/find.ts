/** Finds `nextscale.config.{json,mjs,ts}` from a folder upward (the nearest folder wins). */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

export const CONFIG_NAMES = ['nextscale.config.json', 'nextscale.config.mjs', 'nextscale.config.ts'] as const;

export interface FoundConfig {
  path: string;
  /** Other config files in the same folder that were ignored. */
  ignored: string[];
}

export function findConfig(startDir: string): FoundConfig | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    const here = CONFIG_NAMES.map((n) => path.join(dir, n)).filter((p) => existsSync(p) && statSync(p).isFile());
    if (here.length) return { path: here[0], ignored: here.slice(1) };
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
