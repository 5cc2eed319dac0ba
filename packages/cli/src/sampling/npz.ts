/**
 * The `.npz` the reference's `create_npz_from_sample_folder` writes (`np.savez(path, arr_0=samples)`):
 * a zip archive, entries stored without compression, holding one `arr_0.npy` (format 1.0, `|u1`,
 * C order, shape (N, H, W, 3)). Written as a stream (a 50,000-image 256-px set is 9.8 GB) into a temporary
 * file that is renamed over the target only when complete. Archives whose entry exceeds 4 GiB use
 * ZIP64 records, as Python's zipfile does; the timestamps are fixed (1980-01-01) so the same images
 * give the same bytes.
 */
import { promises as fsp } from 'node:fs';
import { AbortedError } from '@nextscale/core';
import { tempPathFor } from '../util/atomic.js';
import { trackTemporary } from '../signals.js';

/** The .npy header (format 1.0) of a uint8 C-order array, padded so the data starts at a multiple of 64. */
export function npyHeader(shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new Error('npy header too long');
  const out = new Uint8Array(10 + dict.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (zip's polynomial), continued from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
const DOS_TIME = 0;
const U32_MAX = 0xffffffff;

export interface NpzWriteOptions {
  signal?: AbortSignal;
  /** Write ZIP64 records even for a small archive (tests; Python reads both). */
  forceZip64?: boolean;
}

/**
 * Writes `target` as an .npz with one uint8 array `arr_0` of `shape`, whose bytes `chunks` yields in
 * C order (their total must be the product of shape). Atomic: temp file, fsync, rename.
 */
export async function writeNpzUint8(
  target: string,
  shape: readonly number[],
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  o: NpzWriteOptions = {},
): Promise<{ path: string; bytes: number }> {
  const name = new TextEncoder().encode('arr_0.npy');
  const header = npyHeader(shape);
  const dataBytes = shape.reduce((a, b) => a * b, 1);
  const size = header.length + dataBytes;
  const zip64 = o.forceZip64 || size >= U32_MAX;

  const tmp = tempPathFor(target);
  // Removed on every way out: an error below, and a forced exit after an interrupt (signals.ts).
  const untrack = trackTemporary(tmp);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(tmp, 'wx');
  } catch (err) {
    untrack();
    throw err;
  }
  try {
    const localExtra = zip64 ? zip64Extra([size, size]) : new Uint8Array(0);
    const local = new Uint8Array(30 + name.length + localExtra.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, zip64 ? 45 : 20, true); // version needed
    lv.setUint16(6, 0, true); // flags
    lv.setUint16(8, 0, true); // stored
    lv.setUint16(10, DOS_TIME, true);
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, 0, true); // CRC, patched below
    lv.setUint32(18, zip64 ? U32_MAX : size, true);
    lv.setUint32(22, zip64 ? U32_MAX : size, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, localExtra.length, true);
    local.set(name, 30);
    local.set(localExtra, 30 + name.length);

    let pos = 0;
    const write = async (b: Uint8Array) => {
      await handle.write(b, 0, b.length, pos);
      pos += b.length;
    };
    await write(local);
    await write(header);
    let crc = crc32(header);
    let written = 0;
    for await (const chunk of chunks) {
      if (o.signal?.aborted) throw new AbortedError();
      crc = crc32(chunk, crc);
      written += chunk.length;
      await write(chunk);
    }
    if (written !== dataBytes) throw new Error(`npz: got ${written} bytes of image data, expected ${dataBytes}`);
    const crcBytes = new Uint8Array(4);
    new DataView(crcBytes.buffer).setUint32(0, crc, true);
    await handle.write(crcBytes, 0, 4, 14);

    const cdStart = pos;
    const cdExtra = zip64 ? zip64Extra([size, size]) : new Uint8Array(0);
    const cd = new Uint8Array(46 + name.length + cdExtra.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, zip64 ? 45 : 20, true); // made by (MS-DOS attributes)
    cv.setUint16(6, zip64 ? 45 : 20, true);
    cv.setUint16(8, 0, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, zip64 ? U32_MAX : size, true);
    cv.setUint32(24, zip64 ? U32_MAX : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cdExtra.length, true);
    cv.setUint16(32, 0, true); // comment
    cv.setUint16(34, 0, true); // disk
    cv.setUint16(36, 0, true); // internal attributes
    cv.setUint32(38, 0, true); // external attributes
    cv.setUint32(42, 0, true); // local header at 0
    cd.set(name, 46);
    cd.set(cdExtra, 46 + name.length);
    await write(cd);
    const cdSize = cd.length;

    if (zip64) {
      const eocd64At = pos;
      const r = new DataView(new ArrayBuffer(56));
      r.setUint32(0, 0x06064b50, true);
      r.setBigUint64(4, 44n, true); // size of the rest of the record
      r.setUint16(12, 45, true);
      r.setUint16(14, 45, true);
      r.setUint32(16, 0, true);
      r.setUint32(20, 0, true);
      r.setBigUint64(24, 1n, true);
      r.setBigUint64(32, 1n, true);
      r.setBigUint64(40, BigInt(cdSize), true);
      r.setBigUint64(48, BigInt(cdStart), true);
      await write(new Uint8Array(r.buffer));
      const loc = new DataView(new ArrayBuffer(20));
      loc.setUint32(0, 0x07064b50, true);
      loc.setUint32(4, 0, true);
      loc.setBigUint64(8, BigInt(eocd64At), true);
      loc.setUint32(16, 1, true);
      await write(new Uint8Array(loc.buffer));
    }
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, 0x06054b50, true);
    end.setUint16(8, 1, true);
    end.setUint16(10, 1, true);
    end.setUint32(12, cdSize, true);
    end.setUint32(16, zip64 ? U32_MAX : cdStart, true);
    end.setUint16(20, 0, true);
    await write(new Uint8Array(end.buffer));
    await handle.sync();
    await handle.close();
    if (o.signal?.aborted) throw new AbortedError();
    await fsp.rename(tmp, target);
    return { path: target, bytes: pos };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    untrack();
  }
}

/** The ZIP64 extended-information extra field (0x0001) with the given 8-byte values. */
function zip64Extra(values: number[]): Uint8Array {
  const v = new DataView(new ArrayBuffer(4 + 8 * values.length));
  v.setUint16(0, 0x0001, true);
  v.setUint16(2, 8 * values.length, true);
  values.forEach((x, i) => v.setBigUint64(4 + 8 * i, BigInt(x), true));
  return new Uint8Array(v.buffer);
}
