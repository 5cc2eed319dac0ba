/** The Redis connection of the queue commands (ioredis), checked to answer before BullMQ gets it. */
import { Redis } from 'ioredis';
import { CliError } from '../errors.js';
import { parseQueueUrl, redactUrl } from './queue.js';

/** How long a connection attempt may take before the URL counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3_000;

/**
 * A connection for BullMQ, after proving within a few seconds that Redis answers: an unreachable URL
 * is a one-line error (exit 4, the "service unavailable" class), not a client retrying forever.
 */
export async function connectRedis(url: string): Promise<Redis> {
  parseQueueUrl(url);
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
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
    throw new CliError(
      'E_BACKEND_UNAVAILABLE',
      `cannot reach Redis at ${redactUrl(url)} (${why})`,
      'start redis-server there or pass the right --queue redis://host:port',
    );
  } finally {
    probe.disconnect();
  }
  // BullMQ needs maxRetriesPerRequest: null (its blocking commands wait as long as they must).
  const conn = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS });
  conn.on('error', () => undefined); // ioredis reconnects by itself; watchRedis reports and bounds outages
  return conn;
}

export interface RedisWatch {
  /** Rejects with the one-line error when Redis stayed away longer than allowed (never resolves). */
  gaveUp: Promise<never>;
  dispose(): void;
}

/**
 * Says on stderr when the connection drops and when it is back (ioredis reconnects by itself). With
 * `giveUpAfterMs`, an outage that long rejects `gaveUp` (race the work against it: commands queued
 * while offline would wait forever) and disconnects. Workers wait out outages; the coordinator gives up.
 */
export function watchRedis(
  conn: Redis,
  rawUrl: string,
  o: { warn(message: string): void; giveUpAfterMs?: number; whatIsKept?: string },
): RedisWatch {
  const url = redactUrl(rawUrl);
  let down = false;
  let disposed = false;
  let timer: NodeJS.Timeout | undefined;
  let giveUp: (err: CliError) => void = () => undefined;
  const gaveUp = new Promise<never>((_, reject) => (giveUp = reject));
  gaveUp.catch(() => undefined); // handled by whoever races it
  const onClose = () => {
    if (disposed || down) return;
    down = true;
    o.warn(
      `lost the connection to Redis at ${url}; reconnecting${o.giveUpAfterMs ? ` (giving up after ${o.giveUpAfterMs / 1000} s)` : ''}`,
    );
    if (o.giveUpAfterMs === undefined) return;
    timer = setTimeout(() => {
      disposed = true;
      conn.disconnect();
      giveUp(
        new CliError(
          'E_BACKEND_UNAVAILABLE',
          `Redis at ${url} has not answered for ${o.giveUpAfterMs! / 1000} s`,
          `${o.whatIsKept ? `${o.whatIsKept}; ` : ''}start Redis again and run the same command to carry on`,
        ),
      );
    }, o.giveUpAfterMs);
  };
  const onReady = () => {
    if (!down || disposed) return;
    down = false;
    clearTimeout(timer);
    o.warn(`the connection to Redis at ${url} is back`);
  };
  conn.on('close', onClose);
  conn.on('ready', onReady);
  return {
    gaveUp,
    dispose() {
      disposed = true;
      clearTimeout(timer);
      conn.off('close', onClose);
      conn.off('ready', onReady);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
