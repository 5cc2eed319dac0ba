/**
 * Format-agnostic entry points. The format is sniffed from the first bytes, not the extension:
 * released checkpoints get renamed, and a `.safetensors` that is really a zip should still load.
 */
import { totalmem } from 'node:os';
import { AbortedError, throwIfAborted, WeightsError } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { DType } from './dtype.js';
import { bytesAsFile, type ByteSource, type OpenedFile, openFile, readAt, sourceAsFile } from './io.js';
import { parsePth } from './pth/reader.js';
import { parseSafetensors } from './safetensors.js';
import type { WeightsFormat, WeightsReader } from './types.js';

export interface StateDictFile {
  path: string;
  format: WeightsFormat;
  /** safetensors `__metadata__` ({} for pth). */
  metadata: Record<string, string>;
  /** Every tensor converted to float32, in file order. */
  tensors: Map<string, Tensor>;
  /** Original dtype per name. */
  dtypes: Map<string, DType>;
}

/** Identifies the format from the leading bytes of an open file. */
export async function detectFormat(file: OpenedFile): Promise<WeightsFormat> {
  const head = await readAt(file, 0, Math.min(16, file.size), 'the file header');
  if (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    (head[2] === 0x03 || head[2] === 0x05) &&
    head[3] === head[2] + 1
  ) {
    return 'pth';
  }
  if (head.length >= 9 && head[8] === 0x7b /* { */) return 'safetensors';
  if (head[0] === 0x80 && head.length >= 2 && head[1] >= 2 && head[1] <= 5) {
    throw new WeightsError(
      file.path,
      'is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with torch >= 1.6 or convert it to safetensors',
    );
  }
  const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new WeightsError(
    file.path,
    `not a weights file: neither safetensors nor a PyTorch zip checkpoint (first bytes: ${hex})`,
  );
}

export interface OpenWeightsOptions {
  /** Stops parsing (the .pth pickle yields to the event loop as it goes) and reading with an AbortedError. */
  signal?: AbortSignal;
}

export interface LoadStateDictOptions extends OpenWeightsOptions {
  /**
   * Called with the index (names, dtypes, shapes) before any tensor data is read, so that a wrong
   * file fails at once, not after reading gigabytes: throw to refuse it.
   */
  checkIndex?: (reader: WeightsReader) => void | Promise<void>;
  /**
   * Tensors the caller will not use (e.g. the VQ-VAE encoder when only generating): not read; the state dict holds
   * their shape with empty data, so that configs inferred from shapes still see them.
   */
  shapeOnly?: (name: string) => boolean;
  /** true: the reader stays open after a successful read, for the caller to read tensors again and close it. */
  keepOpen?: boolean;
}

/** A tensor's shape with no data: for a state dict's entries that are not used (LoadStateDictOptions.shapeOnly). */
export function shapeOnlyTensor(shape: readonly number[]): Tensor {
  return { shape: [...shape], data: new Float32Array(0) } as unknown as Tensor;
}

/** Opens a .safetensors or .pth file and reads its index (names, dtypes, shapes), but no tensor data. */
export async function openWeights(path: string, options: OpenWeightsOptions = {}): Promise<WeightsReader> {
  return openOpened(await openFile(path), options.signal);
}

async function openOpened(file: OpenedFile, signal?: AbortSignal): Promise<WeightsReader> {
  if (file.size === 0) throw new WeightsError(file.path, 'is empty (0 bytes)');
  try {
    throwIfAborted(signal);
    const format = await detectFormat(file);
    return format === 'pth' ? await parsePth(file, signal) : await parseSafetensors(file);
  } catch (err) {
    await file.handle.close().catch(() => undefined);
    throw err;
  }
}

/** Loads every tensor of a .safetensors or .pth state_dict as float32. */
export async function loadStateDict(path: string, options: LoadStateDictOptions = {}): Promise<StateDictFile> {
  return readStateDict(await openWeights(path, options), options);
}

/** Opens weights held in memory (their index only, as openWeights does); `name` labels errors. */
export async function openWeightsBytes(
  bytes: Uint8Array,
  name = 'weights',
  options: OpenWeightsOptions = {},
): Promise<WeightsReader> {
  return openOpened(bytesAsFile(bytes, name), options.signal);
}

/**
 * The same from bytes in memory (e.g. fetched in a browser, where there is no file system); `name`
 * labels errors.
 */
export async function loadStateDictFromBytes(
  bytes: Uint8Array,
  name = 'weights',
  options: LoadStateDictOptions = {},
): Promise<StateDictFile> {
  return readStateDict(await openWeightsBytes(bytes, name, options), options);
}

/**
 * Opens weights from a random-access source (a browser File, read through File.slice in pieces): the
 * index only, as openWeights does; the caller closes the reader.
 */
export async function openWeightsSource(source: ByteSource, options: OpenWeightsOptions = {}): Promise<WeightsReader> {
  return openOpened(sourceAsFile(source), options.signal);
}

/** Loads every tensor from a random-access source, one tensor's bytes at a time. */
export async function loadStateDictFromSource(
  source: ByteSource,
  options: LoadStateDictOptions = {},
): Promise<StateDictFile> {
  return readStateDict(await openWeightsSource(source, options), options);
}

/** Bytes the tensors take once converted to float32 (what loading holds in memory). */
export function float32Bytes(tensors: readonly { shape: readonly number[] }[]): number {
  return tensors.reduce((s, t) => s + 4 * t.shape.reduce((a, b) => a * b, 1), 0);
}

/** The machine's memory in Node; Infinity on a page (the browser says nothing, and node:os is not there). */
function machineMemory(): number {
  return typeof process !== 'undefined' && process.versions?.node ? totalmem() : Infinity;
}

const GB = (n: number) => `${(n / 1e9).toFixed(n < 1e9 ? 2 : 1)} GB`;

/**
 * Reads every tensor of an opened reader as float32, each into its own buffer (never the whole file at once), and
 * closes the reader (unless keepOpen).
 */
export async function readStateDict(reader: WeightsReader, options: LoadStateDictOptions = {}): Promise<StateDictFile> {
  const path = reader.path;
  try {
    await options.checkIndex?.(reader);
    // Refuse before reading what cannot fit, rather than grow until the kernel kills the process.
    const need = float32Bytes(reader.tensors);
    const have = machineMemory();
    if (need > have) {
      throw new WeightsError(
        path,
        `its ${reader.tensors.length} tensors need ${GB(need)} of memory as float32, more than this machine's ${GB(have)}; use a machine with more memory`,
      );
    }
    const tensors = new Map<string, Tensor>();
    const dtypes = new Map<string, DType>();
    for (const t of reader.tensors) {
      if (options.signal?.aborted) throw new AbortedError();
      tensors.set(
        t.name,
        options.shapeOnly?.(t.name) ? shapeOnlyTensor(t.shape) : new Tensor(t.shape, await reader.read(t.name)),
      );
      dtypes.set(t.name, t.dtype);
    }
    const sd = { path, format: reader.format, metadata: { ...reader.metadata }, tensors, dtypes };
    if (!options.keepOpen) await reader.close();
    return sd;
  } catch (err) {
    await reader.close();
    throw err;
  }
}
