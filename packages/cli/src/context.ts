/**
 * What every command gets: where it runs, its streams, and how chatty it may be.
 * Logs go to stderr and only on a TTY (or with --verbose); warnings always go to stderr;
 * stdout carries only results (one JSON document in --json mode).
 */
export interface Context {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  json: boolean;
  debug: boolean;
  verbose: boolean;
  /** Whether progress bars may be drawn (stderr is a TTY). */
  interactive: boolean;
  signal: AbortSignal;
  /** What an interrupt leaves behind, when it is not "nothing was written" (a resumable sample set). */
  interruptNote?: string;
  /** Informational line on stderr (TTY or --verbose only). */
  log(message: string): void;
  /** Always printed on stderr. */
  warn(message: string): void;
  /** Result text on stdout (suppressed in --json mode, where the command prints one document). */
  out(text: string): void;
}

export interface ContextOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdout?: Context['stdout'];
  stderr?: Context['stderr'];
  json?: boolean;
  debug?: boolean;
  verbose?: boolean;
  signal?: AbortSignal;
}

export function createContext(o: ContextOptions = {}): Context {
  const stderr = o.stderr ?? process.stderr;
  const stdout = o.stdout ?? process.stdout;
  const interactive = Boolean(stderr.isTTY);
  const verbose = Boolean(o.verbose);
  const json = Boolean(o.json);
  return {
    cwd: o.cwd ?? process.cwd(),
    env: o.env ?? process.env,
    stdout,
    stderr,
    json,
    debug: Boolean(o.debug),
    verbose,
    interactive,
    signal: o.signal ?? new AbortController().signal,
    log(message) {
      if (interactive || verbose) stderr.write(`${message}\n`);
    },
    warn(message) {
      stderr.write(`nextscale: warning: ${message}\n`);
    },
    out(text) {
      if (!json) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}
