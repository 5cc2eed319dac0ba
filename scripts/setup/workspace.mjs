/** The workspace's package folders, read from pnpm-workspace.yaml (shared by the bootstrap and CI's counter). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Workspace package folders from pnpm-workspace.yaml (`- dir` and `- dir/*` entries). */
export function workspaceDirs(root) {
  const yaml = readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs = [];
  let inPackages = false;
  for (const raw of yaml.split('\n')) {
    const line = raw.replace(/#.*/, '').trimEnd();
    if (/^\S/.test(line)) inPackages = /^packages:\s*$/.test(line);
    else if (inPackages) {
      const m = /^\s+-\s+['"]?([^'"]+)['"]?\s*$/.exec(line);
      if (m) globs.push(m[1]);
    }
  }
  const dirs = [];
  for (const g of globs) {
    if (g.startsWith('!')) continue;
    if (g.endsWith('/*')) {
      const base = path.join(root, g.slice(0, -2));
      if (!existsSync(base)) continue;
      for (const e of readdirSync(base, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.isDirectory() && existsSync(path.join(base, e.name, 'package.json'))) dirs.push(path.join(base, e.name));
      }
    } else if (existsSync(path.join(root, g, 'package.json'))) dirs.push(path.join(root, g));
  }
  return dirs;
}
