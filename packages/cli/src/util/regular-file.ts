/**
 * Reading a file that came from outside (a picture to edit, an image in a set folder being resumed)
 * without trusting what kind of file it is: a named pipe would block the read forever (and ignore
 * SIGTERM), a device such as /dev/zero never ends, a symbolic link may point anywhere. Look first
 * (stat, or lstat when links are refused), open non-blocking so a path swapped for a pipe in between
 * cannot hang, check again on the open handle, and read at most `maxBytes`.
 */
import { constants as fsc, promises as fsp, type Stats } from 'node:fs';

/** Why a path is not a readable regular file: what it is instead, or that it is too large. */
export class NotReadableError extends Error {
  constructor(
    readonly file: string,
    /** 'a named pipe (FIFO)', 'a device', 'a symbolic link', 'a folder', … or 'larger than N bytes'. */
    readonly what: string,
    readonly tooLarge = false,
  ) {
    super(`${file} is ${what}`);
  }
}

export function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The whole file; throws NotReadableError for anything but a regular file of at most `maxBytes`, else the OS error. */
export async function readRegularFile(file: string, o: { maxBytes: number; refuseLinks?: boolean }): Promise<Buffer> {
  const before = o.refuseLinks ? await fsp.lstat(file) : await fsp.stat(file);
  if (!before.isFile()) throw new NotReadableError(file, kindOf(before));
  if (before.size > o.maxBytes)
    throw new NotReadableError(file, `larger than ${o.maxBytes} bytes (${before.size})`, true);
  const handle = await fsp.open(
    file,
    fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0) | (o.refuseLinks ? (fsc.O_NOFOLLOW ?? 0) : 0),
  );
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new NotReadableError(file, kindOf(st));
    if (st.size > o.maxBytes) throw new NotReadableError(file, `larger than ${o.maxBytes} bytes (${st.size})`, true);
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const { bytesRead } = await handle.read(buf, at, buf.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === buf.length ? buf : buf.subarray(0, at);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
