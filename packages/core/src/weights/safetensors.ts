/**
 * safetensors reader: u64-LE header length N, N bytes of JSON, then raw little-endian data whose
 * offsets are relative to the end of the header. The header is validated up front so that a bad
 * file fails at open with a precise message instead of producing garbage tensors later.
 */
import { WeightsError } from '../errors.js';
import { type DType, DTYPE_SIZE, isDType, toFloat32 } from './dtype.js';
import { assertUnchanged, checkReadInto, type OpenedFile, openFile, readAt, readAtInto } from './io.js';
import { findDuplicateKey } from './json-keys.js';
import type { TensorInfo, WeightsReader } from './types.js';

/** The safetensors reference implementation refuses headers over 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo extends TensorInfo {
  /** [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsFile extends WeightsReader {
  readonly format: 'safetensors';
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** Absolute file offset of the data section (8 + header length). */
  readonly dataStart: number;
  info(name: string): SafetensorsTensorInfo | undefined;
}

export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const file = await openFile(path);
  try {
    return await parse(file);
  } catch (err) {
    await file.handle.close().catch(() => undefined);
    throw err;
  }
}

/** Parses the header of an already opened file (used by format detection, which has it open). */
export async function parseSafetensors(file: OpenedFile): Promise<SafetensorsFile> {
  return parse(file);
}

async function parse(file: OpenedFile): Promise<SafetensorsFile> {
  const fail = (problem: string): never => {
    throw new WeightsError(file.path, problem);
  };
  if (file.size < 8) fail(`too short for a safetensors file (${file.size} bytes; the header length alone takes 8)`);
  const lenBytes = await readAt(file, 0, 8, 'the header length');
  const n64 = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n64 > BigInt(file.size - 8)) {
    if (n64 > BigInt(MAX_HEADER_BYTES)) {
      fail(`not a safetensors file: the first 8 bytes give a header length of ${n64}, which is impossible`);
    }
    fail(
      `truncated: the header claims ${n64} bytes but only ${file.size - 8} follow the length field; the download was probably interrupted, get the file again`,
    );
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`safetensors header of ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(`safetensors header length ${n} is too small to hold a JSON object`);
  const headerBytes = await readAt(file, 8, n, 'the header');
  let header: unknown;
  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    header = JSON.parse(headerText);
  } catch (err) {
    fail(`safetensors header is not valid JSON (${(err as Error).message}); the file is corrupt`);
  }
  const dup = findDuplicateKey(headerText);
  if (dup) {
    const where = dup.path.length === 0 ? 'tensor' : `key in '${dup.path.join('.')}':`;
    fail(
      `safetensors header names ${where} '${dup.key}' twice; the file is corrupt (or crafted so that readers disagree on its contents)`,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('safetensors header is not a JSON object; the file is corrupt');
  }
  const dataStart = 8 + n;
  const dataSize = file.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    tensors.push(validateEntry(name, raw, fail));
  }
  // The format requires the tensors' byte ranges to tile the data section exactly, as the reference
  // reader checks: sorted by offsets, each range starts where the previous one ended (no overlap, no
  // range nested in another, no gap, zero-size ones included) and the last one ends at the file's end.
  const sorted = [...tensors].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let end = 0;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i];
    const [begin, stop] = t.dataOffsets;
    if (begin < end) {
      const prev = sorted[i - 1];
      const how = stop <= end ? (begin === stop ? 'is a zero-size range inside' : 'lies inside') : 'overlaps';
      fail(
        `tensors '${prev.name}' and '${t.name}' share bytes: '${t.name}' [${begin}, ${stop}) ${how} '${prev.name}' [${prev.dataOffsets[0]}, ${prev.dataOffsets[1]}) in the data section; the file is corrupt`,
      );
    }
    if (begin > end) {
      const after = i > 0 ? `after '${sorted[i - 1].name}'` : 'at the start of the data section';
      fail(
        `safetensors data has a gap of ${begin - end} bytes ${after} (before '${t.name}' at ${begin}); the format requires every byte to belong to a tensor, so the file is corrupt`,
      );
    }
    end = stop;
  }
  if (end > dataSize) {
    const last = sorted[sorted.length - 1];
    fail(
      `truncated: tensor '${last.name}' ends at byte ${dataStart + end} but the file has only ${file.size} bytes; the download was probably interrupted, get the file again`,
    );
  }
  if (end < dataSize) {
    fail(
      `${dataSize - end} bytes after the last tensor's data are not described by the header; the file is corrupt or was appended to`,
    );
  }
  return makeReader(file, metadata, tensors, dataStart);
}

function validateEntry(name: string, raw: unknown, fail: (p: string) => never): SafetensorsTensorInfo {
  const where = `tensor '${name}'`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${where}: header entry is not an object`);
  const e = raw as Record<string, unknown>;
  if (!('dtype' in e)) fail(`${where}: header entry has no dtype`);
  if (!('shape' in e)) fail(`${where}: header entry has no shape`);
  if (!('data_offsets' in e)) fail(`${where}: header entry has no data_offsets`);
  if (!isDType(e.dtype)) {
    fail(`${where}: unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  const dtype = e.dtype as DType;
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const offs = e.data_offsets;
  if (
    !Array.isArray(offs) ||
    offs.length !== 2 ||
    !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    (offs[0] as number) > (offs[1] as number)
  ) {
    fail(`${where}: data_offsets ${JSON.stringify(offs)} must be [begin, end] with 0 ≤ begin ≤ end`);
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = numel * DTYPE_SIZE[dtype];
  const [begin, end] = offs as [number, number];
  if (end - begin !== expected) {
    fail(
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${(shape as number[]).join(', ')}] needs ${expected}; the file is corrupt`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

function makeReader(
  file: OpenedFile,
  metadata: Record<string, string>,
  tensors: SafetensorsTensorInfo[],
  dataStart: number,
): SafetensorsFile {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  let closed = false;
  const get = (name: string): SafetensorsTensorInfo => {
    if (closed) throw new WeightsError(file.path, `cannot read '${name}': the file was closed`);
    const t = byName.get(name);
    if (!t) throw new WeightsError(file.path, `no tensor named '${name}'`);
    return t;
  };
  const readBytes = async (name: string): Promise<Uint8Array> => {
    const t = get(name);
    const [begin, end] = t.dataOffsets;
    return readAt(file, dataStart + begin, end - begin, `tensor '${name}'`);
  };
  return {
    path: file.path,
    format: 'safetensors',
    metadata,
    tensors,
    fileSize: file.size,
    dataStart,
    info: (name) => byName.get(name),
    readBytes,
    read: async (name) => toFloat32(await readBytes(name), get(name).dtype),
    readInto: async (name, out) => {
      const t = get(name);
      const [begin, end] = t.dataOffsets;
      checkReadInto(file.path, name, out, (end - begin) / DTYPE_SIZE[t.dtype]);
      // float32 bytes go straight into the caller's buffer; other dtypes are converted through a temporary one
      if (t.dtype === 'F32')
        await readAtInto(
          file,
          dataStart + begin,
          new Uint8Array(out.buffer, out.byteOffset, end - begin),
          `tensor '${name}'`,
        );
      else out.set(toFloat32(await readBytes(name), t.dtype));
    },
    assertUnchanged: () => assertUnchanged(file),
    close: async () => {
      if (closed) return;
      closed = true;
      await file.handle.close();
    },
  };
}
