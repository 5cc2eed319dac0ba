/**
 * The tests drive the built binary (bin/nextscale.js → dist/index.js). Build it first when dist is
 * missing or older than the sources, so `vitest run` never tests a stale CLI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (!e.name.endsWith('.test.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const dist = path.join(root, 'dist', 'index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(path.join(root, 'src'))) return;
  execFileSync('npx', ['--no-install', 'tsup'], { cwd: root, stdio: 'inherit' });
}
