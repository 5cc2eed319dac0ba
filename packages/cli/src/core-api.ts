/**
 * The parts of @nextscale/core the CLI uses beyond the attention API, looked up at run time so that a
 * CLI paired with an older or newer core fails with one clear line instead of a missing-export crash.
 * The types mirror core's public entry points (design.md §4).
 */
import * as core from '@nextscale/core';
import type { AttentionPolicy, AttentionTrace, Registry, Tensor } from '@nextscale/core';
import { CliError } from './errors.js';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface WeightsReader {
  readonly path: string;
  readonly format: 'safetensors' | 'pth';
  readonly metadata: Record<string, string>;
  readonly tensors: readonly TensorInfo[];
  readonly fileSize: number;
  info(name: string): TensorInfo | undefined;
  read(name: string): Promise<Float32Array>;
  readBytes(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: readonly number[];
  data: Uint8Array | Float32Array | (() => Uint8Array | Float32Array | Promise<Uint8Array | Float32Array>);
}

export interface WriteResult {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ProgressEvent {
  stage?: string;
  scale?: number;
  scales?: number;
  patchNum?: number;
  [k: string]: unknown;
}

export interface GenerateOptions {
  labels: number[];
  cfg: number;
  topK: number;
  topP: number;
  seed: number;
  moreSmooth?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  tokens: Int32Array[];
  images: Tensor;
  trace: AttentionTrace;
}

export interface VARModel {
  config: Record<string, unknown> & { patchNums?: number[]; numClasses?: number; depth?: number; numHeads?: number };
  classNames?: string[];
  metadata?: Record<string, string>;
  generate(o: GenerateOptions): Promise<GenerateResult>;
  dispose(): void | Promise<void>;
}

export interface LoadVAROptions {
  var: string;
  vae: string;
  patchNums?: number[];
  numHeads?: number;
  registry?: Registry;
  policy?: AttentionPolicy;
}

type AnyFn = (...args: never[]) => unknown;
const exportsOf = core as unknown as Record<string, unknown>;

function need<F extends AnyFn>(name: string, what: string): F {
  const f = exportsOf[name];
  if (typeof f !== 'function') {
    throw new CliError(
      'E_USAGE',
      `this @nextscale/core does not provide ${name}() (${what})`,
      'install matching versions of @nextscale/core and @nextscale/cli',
    );
  }
  return f as F;
}

export const has = (name: string): boolean => typeof exportsOf[name] === 'function';

export const openWeights = (path: string): Promise<WeightsReader> =>
  need<(p: string) => Promise<WeightsReader>>('openWeights', 'reading weights files')(path);

export const writeSafetensors = (
  path: string,
  entries: Iterable<SafetensorsEntry>,
  metadata?: Record<string, string>,
): Promise<WriteResult> =>
  need<(p: string, e: Iterable<SafetensorsEntry>, m?: Record<string, string>) => Promise<WriteResult>>(
    'writeSafetensors',
    'writing safetensors',
  )(path, entries, metadata);

export const loadVAR = (o: LoadVAROptions): Promise<VARModel> =>
  need<(o: LoadVAROptions) => Promise<VARModel>>('loadVAR', 'the generation pipeline')(o);

/** The norm-driven policy when this core has it. */
export function normPolicy(options: { epsilon?: number }): AttentionPolicy | undefined {
  const f = exportsOf['normPolicy'];
  return typeof f === 'function' ? (f as (o: { epsilon?: number }) => AttentionPolicy)(options) : undefined;
}

/** Config inference from shapes only (a map of `{ shape }`); undefined when this core lacks it. */
export function inferConfig(kind: 'var' | 'vqvae', shapes: Map<string, { shape: number[] }>, file: string, extra?: Record<string, unknown>): Record<string, unknown> | undefined {
  const name = kind === 'var' ? 'inferVARConfig' : 'inferVQVAEConfig';
  const f = exportsOf[name];
  if (typeof f !== 'function') return undefined;
  return (f as (t: unknown, file: string, extra?: unknown) => Record<string, unknown>)(shapes, file, extra);
}
