#!/usr/bin/env node
// Serves the built app (apps/web/dist) on localhost with the cross-origin-isolation headers, and prints the URL.
//   node apps/web/scripts/serve.mjs [--port 5180] [--host 127.0.0.1] [--dir apps/web/dist] [--no-isolation]
// --no-isolation leaves COOP/COEP out (to see the page's notice for that case). Ctrl-C stops it.
import { createReadStream, promises as fsp } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ISOLATION_HEADERS } from './site.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

export const DEFAULT_DIR = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * Starts the static server; resolves with its URL and a close function. Port 0 picks a free one.
 * Only files under `dir` are served (no listing, no path escaping it).
 */
export async function startServer({ dir = DEFAULT_DIR, port = 0, host = '127.0.0.1', isolation = true } = {}) {
  const root = path.resolve(dir);
  try {
    await fsp.access(path.join(root, 'index.html'));
  } catch {
    throw new Error(
      `no build in ${root}: run \`pnpm --filter @nextscale/web build\` (or \`pnpm web\`, which builds first)`,
    );
  }
  const headers = {
    ...(isolation ? ISOLATION_HEADERS : {}),
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      let file = path.join(root, pathname);
      if (file !== root && !file.startsWith(root + path.sep)) return void res.writeHead(403).end();
      let stat = await fsp.stat(file).catch(() => null);
      if (stat?.isDirectory()) {
        file = path.join(file, 'index.html');
        stat = await fsp.stat(file).catch(() => null);
      }
      if (!stat?.isFile())
        return void res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found');
      res.writeHead(200, {
        ...headers,
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': stat.size,
      });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file).pipe(res);
    } catch (err) {
      res.writeHead(500).end(String(err?.message ?? err));
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function parseArgs(argv) {
  const o = { isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--port' || a === '-p') {
      o.port = Number(value());
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`--port must be 0..65535`);
    } else if (a === '--host') o.host = value();
    else if (a === '--dir') o.dir = value();
    else if (a === '--no-isolation') o.isolation = false;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`serve: ${err.message}`);
    process.exit(2);
  }
  if (options.help) {
    console.log('usage: node apps/web/scripts/serve.mjs [--port N] [--host H] [--dir D] [--no-isolation]');
    process.exit(0);
  }
  const port = options.port ?? Number(process.env.PORT ?? 5180);
  try {
    const { url, close } = await startServer({ ...options, port });
    console.log(`nextscale web app: ${url}${options.isolation ? '' : ' (without cross-origin isolation)'}`);
    console.log('Ctrl-C to stop');
    const stop = () => close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    const hint =
      err.code === 'EADDRINUSE' ? `port ${port} is taken: pass --port <another> (0 picks a free one)` : err.message;
    console.error(`serve: ${hint}`);
    process.exit(err.code === 'EADDRINUSE' ? 2 : 1);
  }
}
