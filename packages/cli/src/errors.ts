/**
 * Errors the user sees, and the exit code of each class of problem.
 *
 * Every user error is one line on stderr, `nextscale: <problem> — <fix>`, with no stack trace; in
 * `--json` mode it is also a JSON document on stdout. Only internal errors (exit 1) print a stack,
 * and only with `--debug`.
 */
import { NextscaleError, type ErrorCode } from '@nextscale/core';
import { isHubError, type HubErrorCode } from '@nextscale/hub';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  weights: 3,
  backend: 4,
  /** The model and the request do not fit the memory available (refused before loading). */
  memory: 5,
  // Fetching a model by name (--model, 'nextscale models pull'): one code per way it fails.
  modelNotFound: 10,
  unauthorized: 11,
  offlineMissing: 12,
  hashMismatch: 13,
  diskFull: 14,
  network: 15,
  hubServer: 16,
  hubProtocol: 17,
  badName: 18,
  wrongModel: 19,
  cache: 20,
  interrupted: 130,
} as const;

/** A download's failure as the CLI reports it: its code in --json and its exit status. */
const HUB: Record<HubErrorCode, { code: string; exit: number }> = {
  'not-found': { code: 'E_MODEL_NOT_FOUND', exit: EXIT.modelNotFound },
  unauthorized: { code: 'E_UNAUTHORIZED', exit: EXIT.unauthorized },
  'offline-missing': { code: 'E_OFFLINE_MISSING', exit: EXIT.offlineMissing },
  'hash-mismatch': { code: 'E_HASH_MISMATCH', exit: EXIT.hashMismatch },
  'disk-full': { code: 'E_DISK_FULL', exit: EXIT.diskFull },
  network: { code: 'E_NETWORK', exit: EXIT.network },
  server: { code: 'E_HUB_SERVER', exit: EXIT.hubServer },
  protocol: { code: 'E_HUB_PROTOCOL', exit: EXIT.hubProtocol },
  'bad-name': { code: 'E_BAD_NAME', exit: EXIT.badName },
  'wrong-model': { code: 'E_WRONG_MODEL', exit: EXIT.wrongModel },
  cache: { code: 'E_CACHE', exit: EXIT.cache },
  'unknown-model': { code: 'E_USAGE', exit: EXIT.usage },
  aborted: { code: 'E_ABORTED', exit: EXIT.interrupted },
};

/** `E_DATA`: a picture, mask or other non-weights input file the CLI cannot use (exit 3, like weights). */
export type CliErrorCode = ErrorCode | 'E_DATA' | 'E_INTERNAL';

const EXIT_BY_CODE: Record<CliErrorCode, number> = {
  E_USAGE: EXIT.usage,
  E_CONFIG: EXIT.usage,
  E_WEIGHTS: EXIT.weights,
  E_DATA: EXIT.weights,
  E_BACKEND_UNAVAILABLE: EXIT.backend,
  E_ENGINE_UNAVAILABLE: EXIT.backend,
  E_INPUT: EXIT.internal,
  E_MEMORY: EXIT.memory,
  E_ABORTED: EXIT.interrupted,
  E_INTERNAL: EXIT.internal,
};

/** The generic fix for a class of problem when the error itself does not carry one. */
const DEFAULT_FIX: Record<CliErrorCode, string> = {
  E_USAGE: "see 'nextscale --help'",
  E_CONFIG: 'fix the configuration file (see the README section "Config file")',
  E_WEIGHTS: 'check the path and that the file is a complete VAR or VQ-VAE checkpoint (.pth or .safetensors)',
  E_DATA: 'check the file: a PNG or JPEG picture (or mask) that opens in an image viewer',
  E_BACKEND_UNAVAILABLE: "run 'nextscale backends' to see what is installed and how to add the others",
  E_ENGINE_UNAVAILABLE: "run 'nextscale backends' to see the dense engines installed, or install the package named",
  E_INPUT: 'this is probably a bug; rerun with --debug and report it',
  E_MEMORY: 'generate fewer images at once, or use a smaller model',
  E_ABORTED: 'nothing was written',
  E_INTERNAL: 'rerun with --debug for the stack trace and report it',
};

/** An error raised by the CLI itself, with the fix to print after the dash. */
export class CliError extends NextscaleError {
  override name = 'CliError';
  constructor(
    code: CliErrorCode,
    problem: string,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(code as ErrorCode, problem, options);
  }
}

export const usageError = (problem: string, fix?: string) => new CliError('E_USAGE', problem, fix);
export const configError = (problem: string, fix?: string) => new CliError('E_CONFIG', problem, fix);
export const weightsError = (problem: string, fix?: string) => new CliError('E_WEIGHTS', problem, fix);
export const backendError = (problem: string, fix?: string) => new CliError('E_BACKEND_UNAVAILABLE', problem, fix);

export interface DescribedError {
  code: CliErrorCode | string;
  message: string;
  exitCode: number;
  /** The one line printed on stderr (without the `nextscale: ` prefix). */
  line: string;
  internal: boolean;
}

const ONE_LINE = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

/** Classifies any thrown value. Core errors keep their code; everything else is internal. `command` names the help to point at. */
export function describeError(err: unknown, command?: string): DescribedError {
  const d = describeAny(err);
  return command && d.line.endsWith(DEFAULT_FIX.E_USAGE)
    ? { ...d, line: `${d.line.slice(0, -DEFAULT_FIX.E_USAGE.length)}see 'nextscale ${command} --help'` }
    : d;
}

function describeAny(err: unknown): DescribedError {
  if (isHubError(err)) {
    const { code, exit } = HUB[err.code] ?? { code: 'E_INTERNAL', exit: EXIT.internal };
    const message = ONE_LINE(err.message);
    return {
      code,
      message,
      exitCode: exit,
      line: err.fix ? `${message} — ${ONE_LINE(err.fix)}` : message,
      internal: false,
    };
  }
  if (err instanceof NextscaleError || isCodedError(err)) {
    const code = (err as NextscaleError).code as CliErrorCode;
    const message = ONE_LINE((err as Error).message);
    const fix = err instanceof CliError ? err.fix : undefined;
    const exitCode = EXIT_BY_CODE[code] ?? EXIT.internal;
    const internal = code === 'E_INPUT';
    if (fix) return { code, message, exitCode, line: `${message} — ${ONE_LINE(fix)}`, internal };
    if (/ — /.test(message)) return { code, message, exitCode, line: message, internal };
    const split = splitFix(message);
    const line = split ? `${split.problem} — ${split.fix}` : `${message} — ${DEFAULT_FIX[code]}`;
    return { code, message, exitCode, line, internal };
  }
  if (isAbortLike(err)) {
    return {
      code: 'E_ABORTED',
      message: 'interrupted',
      exitCode: EXIT.interrupted,
      line: `interrupted — ${DEFAULT_FIX.E_ABORTED}`,
      internal: false,
    };
  }
  const message = ONE_LINE(err instanceof Error ? err.message : String(err));
  return {
    code: 'E_INTERNAL',
    message,
    exitCode: EXIT.internal,
    line: `internal error: ${message} — ${DEFAULT_FIX.E_INTERNAL}`,
    internal: true,
  };
}

function isCodedError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code in EXIT_BY_CODE;
}

function isAbortLike(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}

const REMEDY =
  /\b(install|uninstall|use|run|pass|set|rename|check|get|re-?save|convert|choose|import|list|load|fix|remove|update|upgrade)\b/i;

const REMEDY_START = new RegExp(`^${REMEDY.source}`, 'i');

/** Core messages often end with their own remedy ("…; install X"): print it after the dash. */
export function splitFix(message: string): { problem: string; fix: string } | undefined {
  const i = message.lastIndexOf('; ');
  if (i > 0 && REMEDY.test(message.slice(i + 2))) return { problem: message.slice(0, i), fix: message.slice(i + 2) };
  // "…: pass --patch-nums (…)": a clause that starts with a remedy.
  let at = -1;
  for (const m of message.matchAll(/: (?=\S)/g)) if (REMEDY_START.test(message.slice(m.index + 2))) at = m.index;
  if (at > 0) return { problem: message.slice(0, at), fix: message.slice(at + 2) };
  return undefined;
}
