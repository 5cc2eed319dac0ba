/**
 * Every way fetching a model can fail, as a code the caller can branch on (the CLI maps each to its
 * own exit status) and a one-line message that names the file and the fix.
 */
export type HubErrorCode =
  /** The repository, revision or file does not exist (HTTP 404). */
  | 'not-found'
  /** HTTP 401/403: the repository is private or gated, or the token is wrong. */
  | 'unauthorized'
  /** HF_HUB_OFFLINE=1 (or no network) and the file is not in the cache. */
  | 'offline-missing'
  /** The bytes received do not hash to the hub's SHA-256 (or git SHA-1), or their count is not the promised size. */
  | 'hash-mismatch'
  /** The cache's disk is full or would be (checked before downloading and on every write). */
  | 'disk-full'
  /** The connection failed, stalled or was cut, after the bounded retries; the partial file is kept for a resume. */
  | 'network'
  /** HTTP 429 or 5xx after the bounded retries. */
  | 'server'
  /** The hub answered something that is not the protocol: a redirect loop, no metadata, a bad Content-Range. */
  | 'protocol'
  /** A repository or file name that could escape the cache (`..`, an absolute path) or is malformed. */
  | 'bad-name'
  /** A model name the catalogue does not know, or a catalogue file that cannot be used. */
  | 'unknown-model'
  /** The files behind a name load as a different model than the name promises (depth, schedule). */
  | 'wrong-model'
  /** The cache cannot be written (permissions, a file where a folder should be). */
  | 'cache'
  | 'aborted';

export class HubError extends Error {
  override name = 'HubError';
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isHubError = (e: unknown): e is HubError => e instanceof HubError;
