/**
 * A picture's size from its header alone, before anything decodes it: the guard against
 * decompression bombs (a few hundred kB of PNG or JPEG that decode to gigabytes) and the cheap first
 * check of a PNG that came from outside (a queue result, a set folder being resumed).
 */

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The IHDR of a PNG, or why the bytes are not one ("not a PNG", "truncated"). */
export function pngHeader(bytes: Uint8Array): PngHeader | string {
  if (bytes.length < 8 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b))
    return bytes.length === 0 ? 'empty' : 'not a PNG';
  if (bytes.length < 33) return 'truncated (it ends inside its header)';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR')
    return 'not a PNG (no IHDR header)';
  const h = { width: v.getUint32(16), height: v.getUint32(20), bitDepth: bytes[24], colorType: bytes[25] };
  if (!h.width || !h.height) return 'a PNG with no pixels';
  return h;
}

/** Width and height of a JPEG from its first frame header (SOFn), or undefined when none is found. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    // SOF0–SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / start of scan before any frame
    i += 2 + len;
  }
  return undefined;
}
