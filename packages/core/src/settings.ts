/**
 * Every NEXTSCALE_* environment variable the libraries act on, read here and nowhere else, each with one rule. Plugs
 * take these as create() options (a caller may pass its own); where a plug falls back to the environment, it asks
 * this module for its own setting, never another plug's variable. The CLI's own variables (NEXTSCALE_BACKEND,
 * _POLICY, _EPSILON, _VAR, _VAE, _CONFIG, _STALL_MS) are settings layers of its config and are read there.
 */
import { UsageError } from './errors.js';

/** The most threads a kernel is asked for (the WebAssembly worker pool's limit). */
export const MAX_THREADS = 64;

export interface Settings {
  /** NEXTSCALE_ENGINE: the dense engine to compute on ('js', 'wasm', 'onnx', …), when nothing names one. */
  engine?: string;
  /** NEXTSCALE_THREADS: threads of the dense engine and of the exact cpu attention kernel, 1…MAX_THREADS. */
  threads?: number;
  /** NEXTSCALE_ONNX_RELEASE_WEIGHTS: engine-onnx drops its JavaScript copy of pinned weights (default on; 0 = off). */
  onnxReleaseWeights?: boolean;
  /** NEXTSCALE_ONNX_PREPACK: engine-onnx lets ONNX Runtime prepack linear weights (default on; 0 = off). */
  onnxPrepack?: boolean;
  /** NEXTSCALE_ONNX_FUSED_BLOCKS: engine-onnx runs each exact-attention transformer block as one session (default on; 0 = off). */
  onnxFusedBlocks?: boolean;
  /** NEXTSCALE_ONNX_WINOGRAD: engine-onnx runs the VQ-VAE's large 3×3 convolutions as Winograd F(4×4, 3×3) (default on; 0 = off). */
  onnxWinograd?: boolean;
  /** NEXTSCALE_DAWN_FLAGS: comma-separated toggles for Dawn's create() (backend-gpu in Node), e.g. "backend=vulkan". */
  dawnFlags: string[];
  /** NEXTSCALE_WEBGPU_FEATURE_LEVEL: "compatibility" for adapters that only offer it (backend-gpu in Node). */
  webgpuFeatureLevel?: string;
}

type Env = Record<string, string | undefined>;

function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}

/** A thread count: a whole number from 1 to MAX_THREADS (UsageError naming `where` otherwise). */
export function parseThreads(value: string, where = 'NEXTSCALE_THREADS'): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new UsageError(
      `${where}=${value}: expected a positive integer from 1 to ${MAX_THREADS} (the worker threads of the dense kernels)`,
    );
  }
  return n;
}

/** An on/off switch whose default is on: '0' turns it off, '1' keeps it on (UsageError otherwise). */
function parseSwitch(value: string, where: string): boolean {
  if (value.trim() === '0') return false;
  if (value.trim() === '1') return true;
  throw new UsageError(`${where}=${value}: expected 0 (off) or 1 (on)`);
}

/**
 * The settings the environment gives (default: process.env; an empty record where there is none, as in browsers).
 * Empty values count as unset. Throws UsageError naming the variable for a value its rule refuses.
 */
export function readSettings(env: Env = processEnv()): Settings {
  const get = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const engine = get('NEXTSCALE_ENGINE');
  const threads = get('NEXTSCALE_THREADS');
  const release = get('NEXTSCALE_ONNX_RELEASE_WEIGHTS');
  const prepack = get('NEXTSCALE_ONNX_PREPACK');
  const fused = get('NEXTSCALE_ONNX_FUSED_BLOCKS');
  const winograd = get('NEXTSCALE_ONNX_WINOGRAD');
  const level = get('NEXTSCALE_WEBGPU_FEATURE_LEVEL');
  return {
    ...(engine === undefined ? {} : { engine: engine.trim().toLowerCase() }),
    ...(threads === undefined ? {} : { threads: parseThreads(threads) }),
    ...(release === undefined ? {} : { onnxReleaseWeights: parseSwitch(release, 'NEXTSCALE_ONNX_RELEASE_WEIGHTS') }),
    ...(prepack === undefined ? {} : { onnxPrepack: parseSwitch(prepack, 'NEXTSCALE_ONNX_PREPACK') }),
    ...(fused === undefined ? {} : { onnxFusedBlocks: parseSwitch(fused, 'NEXTSCALE_ONNX_FUSED_BLOCKS') }),
    ...(winograd === undefined ? {} : { onnxWinograd: parseSwitch(winograd, 'NEXTSCALE_ONNX_WINOGRAD') }),
    dawnFlags: (get('NEXTSCALE_DAWN_FLAGS') ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
    ...(level === undefined ? {} : { webgpuFeatureLevel: level.trim() }),
  };
}
