/**
 * The Hugging Face ecosystem's own settings, read from the environment as huggingface_hub reads them,
 * so that a user's mirror, token, offline switch and cache apply here unchanged.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DEFAULT_ENDPOINT } from './urls.js';

export { DEFAULT_ENDPOINT } from './urls.js';

export interface HubSettings {
  /** HF_ENDPOINT (a mirror), without a trailing slash. */
  endpoint: string;
  /** HF_TOKEN, else the token file `huggingface-cli login` writes (HF_HOME/token). */
  token?: string;
  /** HF_HUB_OFFLINE=1: never touch the network. */
  offline: boolean;
  /** HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
  cacheDir: string;
  /** HF_HUB_DOWNLOAD_TIMEOUT (seconds, default 10): a connection that sends nothing this long is cut and retried. */
  stallTimeoutMs: number;
  /** NEXTSCALE_HUB_RETRIES: retries after the first try (default 5). */
  retries?: number;
  /** NEXTSCALE_HUB_BACKOFF_MS: the first retry's delay, doubled each time (default 1000). */
  backoffMs?: number;
}

const truthy = (v: string | undefined) => !!v && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());

export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env['HF_HOME']) return path.resolve(env['HF_HOME']);
  const xdg = env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface');
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const home = hfHome(env);
  const cacheDir = env['HF_HUB_CACHE']
    ? path.resolve(env['HF_HUB_CACHE'])
    : env['HUGGINGFACE_HUB_CACHE']
      ? path.resolve(env['HUGGINGFACE_HUB_CACHE'])
      : path.join(home, 'hub');
  const tokenFile = env['HF_TOKEN_PATH'] ? path.resolve(env['HF_TOKEN_PATH']) : path.join(home, 'token');
  let token = env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN'] || undefined;
  if (!token && existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim() || undefined;
  const timeout = Number(env['HF_HUB_DOWNLOAD_TIMEOUT']);
  const count = (k: string) =>
    env[k] !== undefined && env[k] !== '' && Number.isInteger(Number(env[k])) && Number(env[k]) >= 0
      ? Number(env[k])
      : undefined;
  return {
    endpoint: (env['HF_ENDPOINT'] || DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token,
    offline: truthy(env['HF_HUB_OFFLINE']),
    cacheDir,
    stallTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : 10_000,
    ...(count('NEXTSCALE_HUB_RETRIES') !== undefined ? { retries: count('NEXTSCALE_HUB_RETRIES') } : {}),
    ...(count('NEXTSCALE_HUB_BACKOFF_MS') !== undefined ? { backoffMs: count('NEXTSCALE_HUB_BACKOFF_MS') } : {}),
  };
}
