import { describe, expect, it } from 'vitest';
import {
  bf16ToF32,
  encodeValues,
  f16ToF32,
  f32ToBf16Bits,
  f32ToHalfBits,
  halfBitsToNumber,
  toFloat32,
} from './dtype.js';

describe('dtype conversions', () => {
  it('f16 → f32 is exact for every half value and f32 → f16 inverts it', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = f16ToF32(all);
    for (let h = 0; h < 65536; h++) {
      const x = f[h];
      if (Number.isNaN(x)) {
        expect(Number.isNaN(halfBitsToNumber(f32ToHalfBits(x)))).toBe(true);
      } else {
        expect(f32ToHalfBits(x)).toBe(h);
      }
    }
    expect(f[0x3c00]).toBe(1);
    expect(f[0x0001]).toBe(2 ** -24);
    expect(f[0x7bff]).toBe(65504);
    expect(f[0xfc00]).toBe(-Infinity);
  });

  it('f32 → f16 rounds to nearest even and overflows to inf', () => {
    expect(f32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(f32ToHalfBits(65520)).toBe(0x7c00);
    expect(f32ToHalfBits(2 ** -25)).toBe(0); // tie with zero → even
    expect(f32ToHalfBits(1.5 * 2 ** -25)).toBe(1);
    expect(f32ToHalfBits(-0)).toBe(0x8000);
  });

  it('bf16 both ways', () => {
    expect(Array.from(bf16ToF32(Uint16Array.from([0x3f80, 0xc040, 0x7f80])))).toEqual([1, -3, Infinity]);
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16ToF32(Uint16Array.of(f32ToBf16Bits(NaN)))[0])).toBe(true);
  });

  it('toFloat32 reads unaligned bytes and every integer type', () => {
    const buf = new Uint8Array(13);
    buf.set(new Uint8Array(Float32Array.from([1.5, -2, 3]).buffer), 1);
    expect(Array.from(toFloat32(buf.subarray(1), 'F32'))).toEqual([1.5, -2, 3]);
    expect(Array.from(toFloat32(encodeValues([-3, 2 ** 24], 'I64'), 'I64'))).toEqual([-3, 2 ** 24]);
    expect(Array.from(toFloat32(encodeValues([-3, 7], 'I32'), 'I32'))).toEqual([-3, 7]);
    expect(Array.from(toFloat32(encodeValues([-3, 7], 'I16'), 'I16'))).toEqual([-3, 7]);
    expect(Array.from(toFloat32(encodeValues([-3, 7], 'I8'), 'I8'))).toEqual([-3, 7]);
    expect(Array.from(toFloat32(encodeValues([0, 1], 'BOOL'), 'BOOL'))).toEqual([0, 1]);
    expect(Array.from(toFloat32(encodeValues([0.5], 'F64'), 'F64'))).toEqual([0.5]);
    expect(() => toFloat32(new Uint8Array(3), 'F32')).toThrow(/multiple/);
  });
});
