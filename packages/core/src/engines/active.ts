/**
 * The active dense engine: the one slot, process-wide, that the model's engine calls (engines/calls.ts) and the
 * synchronous GEMM (ops/gemm.ts) dispatch to. Empty means core's TypeScript reference ('js').
 */
import type { DenseEngine } from './contract.js';
import { FAST_PATHS, type DenseFastPaths, type FastPathName, type GemmNT } from './dense-contract.js';

interface ActiveState {
  engine: DenseEngine | null;
  /** The engine's fast paths, bound to it. */
  kernels: Partial<DenseFastPaths>;
  /** Whether anyone chose the engine (so loadVAR without an `engine` option keeps it instead of selecting one). */
  chosen: boolean;
}

let state: ActiveState = { engine: null, kernels: {}, chosen: false };

/**
 * Makes `engine` the one the model runs on (process-wide): each fast path it provides, and its gemmNT behind the
 * synchronous ops (matmul, and linear/conv2d where no fast path runs). `null` restores the TypeScript reference
 * (core's 'js' engine).
 */
export function setDenseEngine(engine: DenseEngine | null): void {
  if (engine !== null) validateDenseEngine(engine);
  const kernels: Partial<DenseFastPaths> = {};
  if (engine) {
    for (const k of FAST_PATHS) {
      const f = engine[k] as ((...args: never[]) => unknown) | undefined;
      if (f !== undefined) (kernels as Record<string, unknown>)[k] = f.bind(engine);
    }
  }
  state = { engine, kernels, chosen: true };
}

/** The dense engine set with setDenseEngine, or null (the TypeScript reference). */
export function getDenseEngine(): DenseEngine | null {
  return state.engine;
}

/** Which engine the model runs on now: `{ id, name }` ('js' for the reference). */
export function activeEngineInfo(): { id: string; name: string } {
  // 'js-4x4' is ops/gemm.ts's jsGemmEngine.name, written out because ops/gemm.ts imports this file (a test checks both)
  return state.engine ? { id: state.engine.id, name: state.engine.name } : { id: 'js', name: 'js-4x4' };
}

/** Whether an engine was chosen explicitly (setDenseEngine ran); loadVAR selects one only when none was. */
export function engineWasChosen(): boolean {
  return state.chosen;
}

/** The active engine's fast path `name`, or undefined (the op then runs its own loops). */
export function fastPath<K extends FastPathName>(name: K): DenseFastPaths[K] | undefined {
  return state.kernels[name];
}

/** The active engine's synchronous GEMM, or undefined (the TypeScript reference's, or an engine without one). */
export function activeGemmNT(): GemmNT | undefined {
  return state.engine?.gemmNT;
}

/**
 * Runs `fn` with the TypeScript reference active and restores the previous state afterwards (the conformance
 * suite computes its expected values this way).
 */
export function withReferenceEngine<T>(fn: () => T): T {
  return withDenseEngine(null, fn);
}

/**
 * Runs `fn` with `engine` active (null: the reference) and restores the previous state once it has finished
 * (when `fn` returns a promise, once that settles).
 */
export function withDenseEngine<T>(engine: DenseEngine | null, fn: () => T): T {
  const saved = state;
  setDenseEngine(engine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    state = saved;
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => (state = saved)) as T;
  state = saved;
  return result;
}

function validateDenseEngine(engine: DenseEngine): void {
  if (typeof engine !== 'object' || engine === null) {
    throw new TypeError('setDenseEngine expects a dense engine { id, name, … } or null');
  }
  for (const k of ['id', 'name'] as const) {
    if (typeof engine[k] !== 'string' || !engine[k])
      throw new TypeError(`setDenseEngine: the engine's ${k} must be a non-empty string`);
  }
  for (const k of ['gemmNT', ...FAST_PATHS] as const) {
    if (engine[k] !== undefined && typeof engine[k] !== 'function') {
      throw new TypeError(`setDenseEngine: engine "${engine.id}" has a ${k} that is not a function`);
    }
  }
}
