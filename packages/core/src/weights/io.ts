/**
 * Positional file access. Weights files can be many GB, so nothing here ever reads a whole file:
 * callers ask for byte ranges, and single reads are split below Node's 2 GiB per-call limit.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { WeightsError } from '../errors.js';

/** Largest single `handle.read`/`write` (Node rejects lengths ≥ 2 GiB). */
export const MAX_IO_CHUNK = 1 << 30;

export interface OpenedFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly size: number;
  /** A file on disk's modification time when it was opened (what assertUnchanged compares); absent for bytes. */
  readonly mtimeMs?: number;
}

/** Opens a regular file for reading, mapping the usual OS failures to one-line WeightsErrors. */
export async function openFile(path: string): Promise<OpenedFile> {
  let handle: FileHandle;
  try {
    // Opening a named pipe for reading blocks until a writer appears (forever, usually), and a
    // device or socket is no weights file either: look before opening, and open non-blocking so
    // that a path swapped for a pipe in between cannot hang us; the fstat below decides.
    const before = await fsp.stat(path);
    if (before.isDirectory()) throw new WeightsError(path, 'is a directory, not a weights file');
    if (!before.isFile())
      throw new WeightsError(path, `is ${kindOf(before)}, not a regular file; pass the weights file itself`);
    handle = await fsp.open(path, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (err) {
    if (err instanceof WeightsError) throw err;
    throw new WeightsError(path, describeOpenError(err), { cause: err });
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new WeightsError(path, 'is a directory, not a weights file');
    if (!st.isFile())
      throw new WeightsError(path, `is ${kindOf(st)}, not a regular file; pass the weights file itself`);
    if (st.size === 0)
      throw new WeightsError(path, 'file is empty (0 bytes); the download or save probably failed, get the file again');
    return { path, handle, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function describeOpenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'file not found; check the path';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; check the file permissions';
    case 'EISDIR':
      return 'is a directory, not a weights file';
    default:
      return `cannot open: ${(err as Error)?.message ?? String(err)}`;
  }
}

/**
 * Bytes already in memory (a fetch() in a browser, a test) as an opened file, so the same readers and
 * checks apply to them as to files on disk.
 */
export function bytesAsFile(bytes: Uint8Array, name: string): OpenedFile {
  const handle = {
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const n = Math.max(0, Math.min(length, bytes.length - position));
      buffer.set(bytes.subarray(position, position + n), offset);
      return { bytesRead: n, buffer };
    },
    async close() {},
  };
  return { path: name, handle: handle as unknown as FileHandle, size: bytes.length };
}

/**
 * A random-access byte source that is not a file on disk: a browser `File` read piece by piece with
 * `File.slice`, a range-request reader. Each read asks for one range; nothing asks for the whole source.
 */
export interface ByteSource {
  /** Names the source in errors (a file name). */
  readonly name: string;
  readonly size: number;
  /** The bytes of [position, position + length) (fewer only where the source ends). */
  read(position: number, length: number): Promise<Uint8Array>;
}

/** A ByteSource as an opened file, so the same readers and checks apply to it as to files on disk. */
export function sourceAsFile(source: ByteSource): OpenedFile {
  const handle = {
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const bytes = await source.read(position, Math.max(0, Math.min(length, source.size - position)));
      buffer.set(bytes.subarray(0, length), offset);
      return { bytesRead: Math.min(bytes.length, length), buffer };
    },
    async close() {},
  };
  return { path: source.name, handle: handle as unknown as FileHandle, size: source.size };
}

/**
 * Reads exactly `length` bytes at `position` into a fresh (8-byte aligned) buffer, or throws a
 * "truncated" WeightsError when the file ends first.
 */
export async function readAt(
  file: OpenedFile,
  position: number,
  length: number,
  what = 'data',
  chunk = MAX_IO_CHUNK,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await readAtInto(file, position, out, what, chunk);
  return out;
}

/** readAt into the caller's buffer: exactly `out.length` bytes at `position`. */
export async function readAtInto(
  file: OpenedFile,
  position: number,
  out: Uint8Array,
  what = 'data',
  chunk = MAX_IO_CHUNK,
): Promise<void> {
  const length = out.length;
  if (position + length > file.size) {
    throw truncated(file, position + length, what);
  }
  let done = 0;
  while (done < length) {
    const want = Math.min(chunk, length - done);
    const { bytesRead } = await file.handle.read(out, done, want, position + done);
    // The file shrank after open (or is being rewritten): report it as truncated.
    if (bytesRead === 0) throw truncated(file, position + length, what);
    done += bytesRead;
  }
}

/** readInto's buffer must hold the tensor exactly: a wrong one is the caller's mistake, named here. */
export function checkReadInto(path: string, name: string, out: Float32Array, numel: number): void {
  if (out.length !== numel)
    throw new RangeError(`${path}: readInto('${name}') needs a buffer of ${numel} floats, got ${out.length}`);
}

/**
 * Throws when a file on disk is no longer what was opened (its size or modification time changed): for a reader kept
 * open to read tensors again later (models/var/adaln-weights.ts). Bytes in memory never change.
 */
export async function assertUnchanged(file: OpenedFile): Promise<void> {
  if (file.mtimeMs === undefined) return;
  const st = await file.handle.stat();
  if (st.size !== file.size || st.mtimeMs !== file.mtimeMs)
    throw new WeightsError(
      file.path,
      'changed on disk after the model was loaded (its size or modification time differ); load the model again',
    );
}

export function truncated(file: OpenedFile, needed: number, what: string): WeightsError {
  return new WeightsError(
    file.path,
    `truncated: ${what} needs bytes up to ${needed} but the file has only ${file.size} bytes; the download was probably interrupted, get the file again`,
  );
}
