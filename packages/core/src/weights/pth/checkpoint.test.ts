import { describe, expect, it } from 'vitest';
import { loadStateDict, openPth, openWeights } from '../index.js';
import { useTempDir } from '../tmpdir.test-support.js';
import { type TensorSpec, buildCheckpoint, f32Bytes, stateDictPickle } from './test-support.js';

const tmp = useTempDir();

// storage '0': 0..11 as float32; the views below slice it in several ways.
const STORAGE0 = f32Bytes(Array.from({ length: 12 }, (_, i) => i));
const SPECS: TensorSpec[] = [
  {
    name: 'full',
    storageType: 'FloatStorage',
    storageKey: '0',
    storageNumel: 12,
    offset: 0,
    shape: [3, 4],
    stride: [4, 1],
  },
  // x.t() of a 3×4 → 4×3, non-contiguous
  {
    name: 'transposed',
    storageType: 'FloatStorage',
    storageKey: '0',
    storageNumel: 12,
    offset: 0,
    shape: [4, 3],
    stride: [1, 4],
  },
  // x[1:, 1:3] with a storage offset
  {
    name: 'slice',
    storageType: 'FloatStorage',
    storageKey: '0',
    storageNumel: 12,
    offset: 5,
    shape: [2, 2],
    stride: [4, 1],
  },
  // size-1 dims with arbitrary strides are still contiguous
  {
    name: 'row',
    storageType: 'FloatStorage',
    storageKey: '0',
    storageNumel: 12,
    offset: 4,
    shape: [1, 4],
    stride: [99, 1],
    parameter: true,
  },
  { name: 'half', storageType: 'HalfStorage', storageKey: '1', storageNumel: 3, offset: 0, shape: [3], stride: [1] },
  {
    name: 'empty',
    storageType: 'FloatStorage',
    storageKey: '2',
    storageNumel: 0,
    offset: 0,
    shape: [0, 5],
    stride: [5, 1],
  },
  { name: 'scalar', storageType: 'LongStorage', storageKey: '3', storageNumel: 1, offset: 0, shape: [], stride: [] },
];
const STORAGES = {
  '0': STORAGE0,
  '1': new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c00]).buffer), // 1, -2, inf
  '2': new Uint8Array(0),
  '3': new Uint8Array(new BigInt64Array([-7n]).buffer),
};
const EXPECTED: Record<string, { shape: number[]; data: number[] }> = {
  full: { shape: [3, 4], data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
  transposed: { shape: [4, 3], data: [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11] },
  slice: { shape: [2, 2], data: [5, 6, 9, 10] },
  row: { shape: [1, 4], data: [4, 5, 6, 7] },
  half: { shape: [3], data: [1, -2, Infinity] },
  empty: { shape: [0, 5], data: [] },
  scalar: { shape: [], data: [-7] },
};

async function expectExpected(path: string): Promise<void> {
  const sd = await loadStateDict(path);
  expect([...sd.tensors.keys()]).toEqual(SPECS.map((s) => s.name));
  for (const [name, want] of Object.entries(EXPECTED)) {
    expect(sd.tensors.get(name)!.shape, name).toEqual(want.shape);
    expect(Array.from(sd.tensors.get(name)!.data), name).toEqual(want.data);
  }
  expect(sd.dtypes.get('half')).toBe('F16');
  expect(sd.dtypes.get('scalar')).toBe('I64');
}

describe('.pth views, folders, ZIP64 and byte order', () => {
  const pkl = stateDictPickle(SPECS);

  it('handles storage offsets, strides (non-contiguous → row-major), shared storages, F16, I64, empty and 0-d tensors', async () => {
    await expectExpected(tmp('views.pth', buildCheckpoint('archive', pkl, STORAGES)));
  });

  it('does not care about the folder name or the extension', async () => {
    const path = tmp('weird.bin', buildCheckpoint('my_model_v2', pkl, STORAGES));
    const f = await openWeights(path);
    expect(f.format).toBe('pth');
    await f.close();
    await expectExpected(path);
  });

  it('reads ZIP64 archives (ZIP64 EOCD record, locator and extra fields)', async () => {
    const path = tmp('zip64.pth', buildCheckpoint('archive', pkl, STORAGES, { zip64: true }));
    await expectExpected(path);
  });

  it('honours a byteorder member saying big', async () => {
    const swap = (b: Uint8Array, n: number): Uint8Array => {
      const out = b.slice();
      for (let i = 0; i < out.length; i += n) out.subarray(i, i + n).reverse();
      return out;
    };
    const big = {
      '0': swap(STORAGES['0'], 4),
      '1': swap(STORAGES['1'], 2),
      '2': STORAGES['2'],
      '3': swap(STORAGES['3'], 8),
    };
    await expectExpected(tmp('big.pth', buildCheckpoint('archive', pkl, big, { byteorder: 'big' })));
    await expectExpected(tmp('little.pth', buildCheckpoint('archive', pkl, STORAGES, { byteorder: 'little' })));
  });

  it('readBytes gives row-major raw bytes of a strided view', async () => {
    const f = await openPth(tmp('bytes.pth', buildCheckpoint('archive', pkl, STORAGES)));
    try {
      const raw = await f.readBytes('transposed');
      expect(Array.from(new Float32Array(raw.buffer, raw.byteOffset, 12))).toEqual(EXPECTED.transposed.data);
      expect(f.prefix).toBe('archive/');
      expect(f.metadata).toEqual({});
    } finally {
      await f.close();
    }
  });
});
