/**
 * Format-agnostic entry points. The format is sniffed from the first bytes, not the extension:
 * released checkpoints get renamed, and a `.safetensors` that is really a zip should still load.
 */
import { WeightsError } from '../errors.js';
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
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05) && head[3] === head[2] + 1) {
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

/** Opens a .safetensors or .pth file and reads its index (names, dtypes, shapes), but no tensor data. */
export async function openWeights(path: string): Promise<WeightsReader> {
  return openOpened(await openFile(path));
}

async function openOpened(file: OpenedFile): Promise<WeightsReader> {
  if (file.size === 0) throw new WeightsError(file.path, 'is empty (0 bytes)');
  try {
    const format = await detectFormat(file);
    return format === 'pth' ? await parsePth(file) : await parseSafetensors(file);
  } catch (err) {
    await file.handle.close().catch(() => undefined);
    throw err;
  }
}

/** Loads every tensor of a .safetensors or .pth state_dict as float32. */
export async function loadStateDict(path: string): Promise<StateDictFile> {
  return readAll(await openWeights(path));
}

/**
 * The same from bytes in memory (e.g. fetched in a browser, where there is no file system); `name`
 * labels errors.
 */
export async function loadStateDictFromBytes(bytes: Uint8Array, name = 'weights'): Promise<StateDictFile> {
  return readAll(await openOpened(bytesAsFile(bytes, name)));
}

/**
 * Opens weights from a random-access source (a browser File, read through File.slice in pieces): the
 * index only, as openWeights does; the caller closes the reader.
 */
export async function openWeightsSource(source: ByteSource): Promise<WeightsReader> {
  return openOpened(sourceAsFile(source));
}

/** Loads every tensor from a random-access source, one tensor's bytes at a time. */
export async function loadStateDictFromSource(source: ByteSource): Promise<StateDictFile> {
  return readAll(await openWeightsSource(source));
}

async function readAll(reader: WeightsReader): Promise<StateDictFile> {
  const path = reader.path;
  try {
    const tensors = new Map<string, Tensor>();
    const dtypes = new Map<string, DType>();
    for (const t of reader.tensors) {
      tensors.set(t.name, new Tensor(t.shape, await reader.read(t.name)));
      dtypes.set(t.name, t.dtype);
    }
    return { path, format: reader.format, metadata: { ...reader.metadata }, tensors, dtypes };
  } finally {
    await reader.close();
  }
}
