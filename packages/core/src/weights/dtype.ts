/**
 * Element types as spelled in safetensors headers, with their sizes and the conversions to and from
 * float32 (the only element type of `Tensor`).
 */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZE, s);
}

export function dtypeSize(dtype: DType): number {
  return DTYPE_SIZE[dtype];
}

// Typed-array views read in host order; every platform Node ships on is little-endian, and the
// formats are little-endian, so views are used directly. A big-endian host would need swapping.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A view of `bytes` as `T` without copying when the offset is aligned (typed arrays need that),
 * otherwise over an aligned copy.
 */
function aligned(bytes: Uint8Array, itemSize: number): { buffer: ArrayBufferLike; byteOffset: number; length: number } {
  if (!HOST_LITTLE_ENDIAN) throw new Error('nextscale weights: big-endian hosts are not supported');
  if (bytes.byteLength % itemSize !== 0) {
    throw new RangeError(`byte length ${bytes.byteLength} is not a multiple of the element size ${itemSize}`);
  }
  const src = bytes.byteOffset % itemSize === 0 ? bytes : bytes.slice();
  return { buffer: src.buffer, byteOffset: src.byteOffset, length: src.byteLength / itemSize };
}

/**
 * Converts raw little-endian `bytes` of `dtype` to float32 (integers and F64 are rounded to nearest).
 * For F32 bytes that span a whole (aligned) ArrayBuffer, the result is a view of that buffer rather
 * than a copy, so that loading a multi-GB tensor does not need twice its size in memory.
 */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  const size = DTYPE_SIZE[dtype];
  const { buffer, byteOffset, length } = aligned(bytes, size);
  switch (dtype) {
    case 'F32': {
      const view = new Float32Array(buffer, byteOffset, length);
      // A view into a larger buffer is copied so that it does not pin the rest of that buffer.
      return byteOffset === 0 && view.byteLength === buffer.byteLength ? view : view.slice();
    }
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, byteOffset, length));
    case 'F16':
      return f16ToF32(new Uint16Array(buffer, byteOffset, length));
    case 'BF16':
      return bf16ToF32(new Uint16Array(buffer, byteOffset, length));
    case 'I64': {
      const src = new BigInt64Array(buffer, byteOffset, length);
      const out = new Float32Array(length);
      for (let i = 0; i < length; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'I32':
      return Float32Array.from(new Int32Array(buffer, byteOffset, length));
    case 'I16':
      return Float32Array.from(new Int16Array(buffer, byteOffset, length));
    case 'I8':
      return Float32Array.from(new Int8Array(buffer, byteOffset, length));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(buffer, byteOffset, length));
  }
}

// Exact f16 → f32 via a 65536-entry table: every half value is representable in float32.
let F16_TABLE: Float32Array | undefined;
function f16Table(): Float32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) F16_TABLE[h] = halfBitsToNumber(h);
  }
  return F16_TABLE;
}

export function halfBitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function f16ToF32(src: Uint16Array): Float32Array {
  const table = f16Table();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out;
}

/** bf16 is the upper half of a float32, so the conversion is a shift. */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const bits = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return new Float32Array(bits.buffer);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 → f16 bits, round to nearest even, overflow to ±inf, NaN kept NaN. */
export function f32ToHalfBits(x: number): number {
  f32Scratch[0] = x;
  const f = u32Scratch[0];
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and reaches inf at the top).
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** float32 → bf16 bits, round to nearest even. */
export function f32ToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const f = u32Scratch[0];
  if ((f & 0x7f800000) === 0x7f800000 && f & 0x7fffff) return (f >>> 16) | 0x40;
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Numbers → raw little-endian bytes of `dtype` (used by the writer). */
export function encodeValues(values: ArrayLike<number> | BigInt64Array, dtype: DType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'F32':
      return bytesOf(values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>));
    case 'F64':
      return bytesOf(values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>));
    case 'F16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToHalfBits(Number(values[i]));
      return bytesOf(out);
    }
    case 'BF16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToBf16Bits(Number(values[i]));
      return bytesOf(out);
    }
    case 'I64': {
      if (values instanceof BigInt64Array) return bytesOf(values);
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(checkInt(values[i], i));
      return bytesOf(out);
    }
    case 'I32':
      return bytesOf(intArray(Int32Array, values, n));
    case 'I16':
      return bytesOf(intArray(Int16Array, values, n));
    case 'I8':
      return bytesOf(intArray(Int8Array, values, n));
    case 'U8':
    case 'BOOL':
      return bytesOf(intArray(Uint8Array, values, n));
  }
}

function checkInt(v: number | bigint, i: number): number | bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isInteger(v)) throw new RangeError(`element ${i} is ${v}, not an integer`);
  return v;
}

function intArray<T extends Int32Array | Int16Array | Int8Array | Uint8Array>(
  Ctor: { new (n: number): T },
  values: ArrayLike<number> | BigInt64Array,
  n: number,
): T {
  if (values instanceof Ctor) return values as T;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) out[i] = Number(checkInt(values[i], i));
  return out;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
