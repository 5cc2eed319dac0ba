/** What a download reports while it runs, shaped like transformers.js's progress callbacks. */
export type HubEvent =
  /** Looking the file up (a HEAD to the hub, or the cache when offline). */
  | { status: 'initiate'; repo: string; file: string }
  /** Bytes are about to flow: `resumeFrom` of `total` are already on disk from an earlier try. */
  | { status: 'download'; repo: string; file: string; total: number; resumeFrom: number }
  /** `loaded` of `total` bytes are on disk (`progress` in percent, as transformers.js reports it). */
  | { status: 'progress'; repo: string; file: string; loaded: number; total: number; progress: number }
  /** A failed request is tried again after `delayMs`. */
  | { status: 'retry'; repo: string; file: string; attempt: number; of: number; delayMs: number; reason: string }
  /** The file is verified and in place. `transferred` counts the bytes this call fetched (0 when cached). */
  | {
      status: 'done';
      repo: string;
      file: string;
      path: string;
      bytes: number;
      transferred: number;
      resumedFrom: number;
      cached: boolean;
      commit: string;
      /** Why the cache was used without asking the hub, when it was (offline, or the hub unreachable). */
      offline?: string;
    };

export type HubEventHandler = (event: HubEvent) => void;
