/** The Redis connection of the queue commands (ioredis), checked to answer before BullMQ gets it. */
import { Redis } from 'ioredis';
import { CliError } from '../errors.js';
import { parseQueueUrl } from './queue.js';

/** How long a connection attempt may take before the URL counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3_000;

/**
 * A connection for BullMQ, after proving within a few seconds that Redis answers: an unreachable URL
 * is a one-line error (exit 4, the "service unavailable" class), not a client retrying forever.
 */
export async function connectRedis(url: string): Promise<Redis> {
  parseQueueUrl(url);
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  probe.on('error', (e: Error) => (lastError = e));
  try {
    await withTimeout(
      (async () => {
        await probe.connect();
        await probe.ping();
      })(),
      CONNECT_TIMEOUT_MS + 1000,
    );
  } catch (err) {
    const why = lastError?.message || (err as Error).message || 'no answer';
    throw new CliError('E_BACKEND_UNAVAILABLE', `cannot reach Redis at ${url} (${why})`, 'start redis-server there or pass the right --queue redis://host:port');
  } finally {
    probe.disconnect();
  }
  // BullMQ needs maxRetriesPerRequest: null (its blocking commands wait as long as they must).
  const conn = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS });
  conn.on('error', () => undefined); // ioredis reconnects by itself; a lasting outage shows as no progress
  return conn;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

