/**
 * Streaming safetensors writer. The header must list every shape and offset before the first data
 * byte, so entries are described up front and their data may be produced lazily, one tensor at a
 * time (a converter never holds the whole model). The file appears atomically: everything goes to a
 * temporary sibling that is renamed at the end, so a crash leaves no half-written weights behind.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { AbortedError, WeightsError } from '../errors.js';
import { type DType, DTYPE_SIZE, encodeValues, isDType } from './dtype.js';
import { MAX_IO_CHUNK } from './io.js';

/**
 * Tensor data for the writer. Numbers are converted to `dtype` (F16/BF16 round to nearest even,
 * integer dtypes require integral values). A `Uint8Array` is taken as the raw little-endian bytes in
 * `dtype` already (what `WeightsReader.readBytes` returns), which copies any dtype through losslessly.
 */
export type SafetensorsData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | readonly number[];

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: readonly number[];
  data: SafetensorsData | (() => SafetensorsData | Promise<SafetensorsData>);
}

export interface WriteResult {
  path: string;
  /** Total bytes written. */
  bytes: number;
  /** Lower-case hex SHA-256 of the whole file as written. */
  sha256: string;
}

export interface WriteOptions {
  /** Stops between tensors and chunks with an AbortedError; the temporary file is removed. */
  signal?: AbortSignal;
}

/** The temporary sibling a write goes to before its rename (so a caller can clean up after a hard exit). */
export function safetensorsTempPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

export async function writeSafetensors(
  path: string,
  entries: Iterable<SafetensorsEntry> | AsyncIterable<SafetensorsEntry>,
  metadata?: Record<string, string>,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const { signal } = options;
  const list: SafetensorsEntry[] = [];
  for await (const e of entries) list.push(e);
  const { header, layout } = buildHeader(path, list, metadata);

  const tmp = safetensorsTempPath(path);
  const hash = createHash('sha256');
  let handle: FileHandle | undefined;
  let written = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    for (let off = 0; off < bytes.byteLength; off += WRITE_CHUNK) {
      if (signal?.aborted) throw new AbortedError();
      const chunk = bytes.subarray(off, Math.min(bytes.byteLength, off + WRITE_CHUNK));
      hash.update(chunk);
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle!.write(chunk, done, chunk.byteLength - done, written);
        done += bytesWritten;
        written += bytesWritten;
      }
    }
  };
  try {
    handle = await fsp.open(tmp, 'w');
    await write(header);
    for (let i = 0; i < list.length; i++) {
      if (signal?.aborted) throw new AbortedError();
      const e = list[i];
      const raw = typeof e.data === 'function' ? await e.data() : e.data;
      const bytes = toBytes(path, e, raw, layout[i]);
      await write(bytes);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    if (err instanceof WeightsError || err instanceof AbortedError) throw err;
    throw new WeightsError(path, `cannot write: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  return { path, bytes: written, sha256: hash.digest('hex') };
}

/** Writes go out in pieces this size, so an abort takes effect within one of them. */
const WRITE_CHUNK = Math.min(MAX_IO_CHUNK, 64 * 1024 * 1024);

interface Layout {
  numel: number;
  byteLength: number;
}

function buildHeader(
  path: string,
  list: SafetensorsEntry[],
  metadata: Record<string, string> | undefined,
): { header: Uint8Array; layout: Layout[] } {
  const fail = (problem: string): never => {
    throw new WeightsError(path, problem);
  };
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`metadata '${k}' must be a string`);
    }
    json.__metadata__ = metadata;
  }
  const layout: Layout[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const e of list) {
    if (typeof e.name !== 'string' || e.name === '' || e.name === '__metadata__')
      fail(`invalid tensor name ${JSON.stringify(e.name)}`);
    if (seen.has(e.name)) fail(`duplicate tensor name '${e.name}'`);
    seen.add(e.name);
    if (!isDType(e.dtype)) fail(`tensor '${e.name}': unsupported dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${e.name}': invalid shape ${JSON.stringify(e.shape)}`);
    }
    const numel = e.shape.reduce((a, b) => a * b, 1);
    const byteLength = numel * DTYPE_SIZE[e.dtype];
    json[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + byteLength] };
    layout.push({ numel, byteLength });
    offset += byteLength;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  // Padding to 8 keeps the data section 8-byte aligned, so readers can view it in place.
  const n = Math.ceil(text.byteLength / 8) * 8;
  const header = new Uint8Array(8 + n).fill(0x20, 8);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(text, 8);
  return { header, layout };
}

function toBytes(path: string, e: SafetensorsEntry, raw: SafetensorsData, l: Layout): Uint8Array {
  let bytes: Uint8Array;
  if (raw instanceof Uint8Array) {
    bytes = raw;
  } else if (raw instanceof Uint16Array && (e.dtype === 'F16' || e.dtype === 'BF16')) {
    // Already half-precision bits.
    bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  } else {
    if (!raw || typeof (raw as ArrayLike<number>).length !== 'number') {
      throw new WeightsError(path, `tensor '${e.name}': data must be a typed array or number[]`);
    }
    if (raw.length !== l.numel) {
      throw new WeightsError(
        path,
        `tensor '${e.name}': data has ${raw.length} elements but shape [${e.shape.join(', ')}] needs ${l.numel}`,
      );
    }
    try {
      bytes = encodeValues(raw as ArrayLike<number> | BigInt64Array, e.dtype);
    } catch (err) {
      throw new WeightsError(path, `tensor '${e.name}': cannot encode as ${e.dtype}: ${(err as Error).message}`);
    }
  }
  if (bytes.byteLength !== l.byteLength) {
    throw new WeightsError(
      path,
      `tensor '${e.name}': ${bytes.byteLength} raw bytes given but ${e.dtype} [${e.shape.join(', ')}] needs ${l.byteLength}`,
    );
  }
  return bytes;
}
