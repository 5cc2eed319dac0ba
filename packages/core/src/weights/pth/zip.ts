/**
 * A read-only ZIP reader for PyTorch checkpoints. It parses the central directory from the end of
 * the file (ZIP64 included, since checkpoints over 4 GiB need it) and reads members by position.
 * torch.save stores members uncompressed, which is what makes per-tensor positional reads
 * possible; compressed members (an archive re-zipped by another tool) are refused.
 */
import * as zlib from 'node:zlib';
import { WeightsError } from '../../errors.js';
import { type OpenedFile, readAt } from '../io.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
/** The central directory of a checkpoint is tiny; a huge one means a corrupt or hostile file. */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** Absolute file offset of a member's data (reads its local header once). */
  dataOffset(entry: ZipEntry): Promise<number>;
  /** `length` bytes of a stored member starting at `offset` within it. */
  readRange(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array>;
  /** A whole (small) member, CRC-checked. */
  readMember(entry: ZipEntry): Promise<Uint8Array>;
}

export async function openZip(file: OpenedFile): Promise<ZipArchive> {
  const fail = (problem: string): never => {
    throw new WeightsError(file.path, problem);
  };
  const corrupt = (what: string): never =>
    fail(`corrupt zip archive: ${what}; the file is truncated or damaged, get it again`);

  // The EOCD record sits at the very end, followed only by an optional comment of ≤ 65535 bytes.
  const tailLen = Math.min(file.size, EOCD_SIZE + 0xffff + LOCATOR_SIZE);
  const tailStart = file.size - tailLen;
  const tail = await readAt(file, tailStart, tailLen, 'the zip directory');
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) corrupt('no end-of-central-directory record');

  let diskNo = tv.getUint16(eocd + 4, true);
  let cdDisk = tv.getUint16(eocd + 6, true);
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);

  const loc = eocd - LOCATOR_SIZE;
  if (loc >= 0 && tv.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
    const z64Offset = u64(tv, loc + 8, () => corrupt('ZIP64 locator offset out of range'));
    if (z64Offset + ZIP64_EOCD_SIZE > tailStart + loc) corrupt('ZIP64 end-of-central-directory record out of range');
    const rec = await readAt(file, z64Offset, ZIP64_EOCD_SIZE, 'the ZIP64 directory record');
    const rv = new DataView(rec.buffer);
    if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD) corrupt('bad ZIP64 end-of-central-directory signature');
    const big = (at: number) => u64(rv, at, () => corrupt('ZIP64 directory field out of range'));
    diskNo = rv.getUint32(16, true);
    cdDisk = rv.getUint32(20, true);
    count = big(32);
    cdSize = big(40);
    cdOffset = big(48);
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    corrupt('ZIP64 sizes without a ZIP64 locator');
  }
  if (diskNo !== 0 || cdDisk !== 0) fail('multi-part (spanned) zip archives are not supported');
  if (cdSize > MAX_CENTRAL_DIRECTORY) corrupt(`central directory of ${cdSize} bytes`);
  if (cdOffset + cdSize > file.size) corrupt('central directory extends past the end of the file');

  const cd = await readAt(file, cdOffset, cdSize, 'the zip central directory');
  const cv = new DataView(cd.buffer);
  const utf8 = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > cd.length || cv.getUint32(p, true) !== SIG_CENTRAL)
      corrupt(`bad central directory entry #${i}`);
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc32 = cv.getUint32(p + 16, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let size = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let startDisk = cv.getUint16(p + 34, true);
    let localHeaderOffset = cv.getUint32(p + 42, true);
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cd.length) corrupt(`central directory entry #${i} overruns the directory`);
    const name = utf8.decode(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen));
    // ZIP64 extended information: only the fields saturated in the fixed header are present, in this order.
    let q = p + CENTRAL_SIZE + nameLen;
    const extraEnd = q + extraLen;
    while (q + 4 <= extraEnd) {
      const id = cv.getUint16(q, true);
      const len = cv.getUint16(q + 2, true);
      const dataEnd = q + 4 + len;
      if (dataEnd > extraEnd) corrupt(`bad extra field in entry '${name}'`);
      if (id === 0x0001) {
        let r = q + 4;
        const next = (): number => {
          if (r + 8 > dataEnd) corrupt(`short ZIP64 extra field in entry '${name}'`);
          const v = u64(cv, r, () => corrupt(`ZIP64 field out of range in entry '${name}'`));
          r += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
        if (startDisk === 0xffff && r + 4 <= dataEnd) startDisk = cv.getUint32(r, true);
      }
      q = dataEnd;
    }
    if (startDisk !== 0) fail('multi-part (spanned) zip archives are not supported');
    if (localHeaderOffset + LOCAL_SIZE > cdOffset) corrupt(`entry '${name}' starts outside the archive data`);
    // A declared size larger than the archive (a zip bomb's, or a damaged field) fails here, at open,
    // not when the member is first read.
    if (localHeaderOffset + LOCAL_SIZE + compressedSize > cdOffset) {
      corrupt(`entry '${name}' declares ${compressedSize} bytes, more than the archive holds before its directory`);
    }
    entries.set(name, { name, method, flags, crc32, compressedSize, size, localHeaderOffset });
    p = end;
  }

  const offsets = new Map<ZipEntry, number>();
  const dataOffset = async (entry: ZipEntry): Promise<number> => {
    const known = offsets.get(entry);
    if (known !== undefined) return known;
    if (entry.flags & 0x1) fail(`member '${entry.name}' is encrypted, which is not supported`);
    if (entry.method !== 0) {
      fail(
        `member '${entry.name}' is compressed (zip method ${entry.method}); torch.save writes uncompressed archives, so re-save it with torch.save or re-zip it with no compression (zip -0)`,
      );
    }
    if (entry.compressedSize !== entry.size) corrupt(`stored member '${entry.name}' has differing sizes`);
    const h = await readAt(file, entry.localHeaderOffset, LOCAL_SIZE, `the local header of '${entry.name}'`);
    const hv = new DataView(h.buffer);
    if (hv.getUint32(0, true) !== SIG_LOCAL) corrupt(`bad local header for member '${entry.name}'`);
    const start = entry.localHeaderOffset + LOCAL_SIZE + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (start + entry.size > cdOffset) corrupt(`member '${entry.name}' overruns the central directory`);
    offsets.set(entry, start);
    return start;
  };
  const readRange = async (entry: ZipEntry, offset: number, length: number): Promise<Uint8Array> => {
    if (offset < 0 || offset + length > entry.size) {
      corrupt(
        `read of bytes [${offset}, ${offset + length}) past the end of member '${entry.name}' (${entry.size} bytes)`,
      );
    }
    return readAt(file, (await dataOffset(entry)) + offset, length, `member '${entry.name}'`);
  };
  return {
    entries,
    dataOffset,
    readRange,
    readMember: async (entry) => {
      const bytes = await readRange(entry, 0, entry.size);
      const crc = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
      if (crc && crc(bytes) >>> 0 !== entry.crc32) corrupt(`CRC mismatch in member '${entry.name}'`);
      return bytes;
    },
  };
}

function u64(v: DataView, at: number, onOverflow: () => never): number {
  const big = v.getBigUint64(at, true);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) onOverflow();
  return Number(big);
}
