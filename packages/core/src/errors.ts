/**
 * Error classes with a stable `code`, so that callers (the CLI above all) can map each class of
 * problem to its own exit code and message without parsing text.
 */
export type ErrorCode =
  | 'E_USAGE' // bad arguments or options from the caller
  | 'E_CONFIG' // an invalid configuration file
  | 'E_WEIGHTS' // missing, corrupt, truncated or wrong-model weights
  | 'E_BACKEND_UNAVAILABLE' // no attention backend can serve a call
  | 'E_ENGINE_UNAVAILABLE' // the dense engine asked for is not installed or cannot run here
  | 'E_INPUT' // invalid tensor input (shape mismatch, NaN/Inf)
  | 'E_MEMORY' // the model and the request do not fit the memory available (refused before loading)
  | 'E_ABORTED'; // cancelled through an AbortSignal

export class NextscaleError extends Error {
  override name = 'NextscaleError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class WeightsError extends NextscaleError {
  override name = 'WeightsError';
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super('E_WEIGHTS', `${file}: ${problem}`, options);
  }
}

export class BackendUnavailableError extends NextscaleError {
  override name = 'BackendUnavailableError';
  constructor(
    message: string,
    readonly failures: { id: string; reason: string }[] = [],
  ) {
    super('E_BACKEND_UNAVAILABLE', message);
  }
}

export class EngineUnavailableError extends NextscaleError {
  override name = 'EngineUnavailableError';
  constructor(
    message: string,
    /** The engine id asked for, and the package that provides it. */
    readonly engine: string,
    readonly packageName: string,
  ) {
    super('E_ENGINE_UNAVAILABLE', message);
  }
}

export class InputError extends NextscaleError {
  override name = 'InputError';
  constructor(message: string) {
    super('E_INPUT', message);
  }
}

export class UsageError extends NextscaleError {
  override name = 'UsageError';
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

export class AbortedError extends NextscaleError {
  override name = 'AbortedError';
  constructor(message = 'the operation was aborted') {
    super('E_ABORTED', message);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}
