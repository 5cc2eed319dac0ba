/**
 * Inputs that used to slip through the weights readers: safetensors byte ranges that do not tile the
 * data section, duplicate header keys, pickles that nest, widen or carry huge integers, views that
 * expand their storage, named pipes, and non-finite values. Each must fail with one WeightsError line.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { UNPICKLE_LIMITS, unpickle, unpickleAsync, UnpickleError } from './pth/unpickle.js';
import { PickleWriter, buildCheckpoint, f32Bytes, stateDictPickle } from './pth/test-support.js';
import { findDuplicateKey } from './json-keys.js';
import { assertFiniteWeights, countNonFinite } from './finite.js';
import { loadStateDict, openWeights } from './index.js';
import { useTempDir } from './tmpdir.test-support.js';

const tmp = useTempDir();

async function weightsError(path: string): Promise<string> {
  const err = await loadStateDict(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WeightsError);
  const message = (err as Error).message;
  expect(message.startsWith(`${path}: `)).toBe(true);
  expect(message).not.toContain('\n');
  return message;
}

function safetensors(headerJson: string, dataBytes: number): Uint8Array {
  const json = Buffer.from(headerJson);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
}
const entry = (shape: number[], begin: number, end: number) =>
  JSON.stringify({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('safetensors: the byte ranges must tile the data section', () => {
  it('refuses a range nested inside another', async () => {
    const h = `{"a":${entry([4], 0, 16)},"b":${entry([2], 4, 12)}}`;
    expect(await weightsError(tmp('nested.safetensors', safetensors(h, 16)))).toMatch(
      /'b' \[4, 12\) lies inside 'a' \[0, 16\)/,
    );
  });
  it('refuses a zero-size tensor inside another', async () => {
    const h = `{"a":${entry([4], 0, 16)},"z":${entry([0], 8, 8)}}`;
    expect(await weightsError(tmp('zero.safetensors', safetensors(h, 16)))).toMatch(
      /'z' \[8, 8\) is a zero-size range inside 'a'/,
    );
  });
  it('accepts a zero-size tensor at a boundary', async () => {
    const h = `{"a":${entry([4], 0, 16)},"z":${entry([0], 16, 16)}}`;
    const sd = await loadStateDict(tmp('zero-ok.safetensors', safetensors(h, 16)));
    expect(sd.tensors.get('z')!.shape).toEqual([0]);
  });
  it('refuses a gap between tensors', async () => {
    const h = `{"a":${entry([2], 0, 8)},"b":${entry([2], 12, 20)}}`;
    expect(await weightsError(tmp('gap.safetensors', safetensors(h, 20)))).toMatch(
      /gap of 4 bytes after 'a' \(before 'b' at 12\)/,
    );
  });
  it('refuses a gap at the start and bytes after the last tensor', async () => {
    expect(await weightsError(tmp('gap0.safetensors', safetensors(`{"a":${entry([1], 4, 8)}}`, 8)))).toMatch(
      /gap of 4 bytes at the start/,
    );
    expect(await weightsError(tmp('tail.safetensors', safetensors(`{"a":${entry([1], 0, 4)}}`, 8)))).toMatch(
      /4 bytes after the last tensor/,
    );
  });
  it('refuses a tensor named twice in the header JSON (JSON.parse would keep the last)', async () => {
    const h = `{"a":${entry([1], 0, 4)},"a":${entry([1], 0, 4)}}`;
    expect(await weightsError(tmp('dup.safetensors', safetensors(h, 4)))).toMatch(/names tensor 'a' twice/);
    const inner = `{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`;
    expect(await weightsError(tmp('dup2.safetensors', safetensors(inner, 4)))).toMatch(
      /names key in 'a': 'dtype' twice/,
    );
  });
  it('findDuplicateKey ignores equal keys in different objects and strings that look like keys', () => {
    expect(findDuplicateKey('{"a":{"x":1},"b":{"x":2},"c":"\\"a\\"","d":["a","a"]}')).toBeUndefined();
    expect(findDuplicateKey('{"a\\u0062":1,"ab":2}')).toEqual({ path: [], key: 'ab' });
    expect(findDuplicateKey('{"m":{"k":[{"q":1,"q":2}]}}')).toEqual({ path: ['m', 'k'], key: 'q' });
  });
});

const noGlobals = {
  resolveGlobal: (m: string, n: string): never => {
    throw new UnpickleError(`global ${m}.${n}`);
  },
  persistentLoad: (pid: unknown) => pid,
};

describe('unpickler limits', () => {
  it('a dict key nested 100,000 tuples deep is a clear error, not a stack overflow', async () => {
    const p = new PickleWriter().proto(2).emptyDict().raw(0x4e);
    for (let i = 0; i < 100_000; i++) p.raw(0x85); // TUPLE1
    p.raw(0x4e, 0x73).stop(); // value None, SETITEM
    expect(() => unpickle(p.bytes(), noGlobals)).toThrow(/containers nested more than 100 deep/);
    const msg = await weightsError(tmp('deep.pth', buildCheckpoint('archive', p.bytes(), {})));
    expect(msg).toMatch(/corrupt archive\/data\.pkl: containers nested more than 100 deep/);
  });
  it('nested MARKs are bounded', () => {
    const p = new PickleWriter().proto(2);
    for (let i = 0; i <= UNPICKLE_LIMITS.maxMarks; i++) p.mark();
    expect(() => unpickle(p.bytes(), noGlobals)).toThrow(/more than 100 nested MARKs/);
  });
  it('one APPENDS of 2,000,000 items neither overflows the stack nor passes as a state_dict', async () => {
    const p = new PickleWriter().proto(2).raw(0x5d).mark();
    for (let i = 0; i < 2_000_000; i++) p.raw(0x4e);
    p.raw(0x65).stop();
    expect((unpickle(p.bytes(), noGlobals) as unknown[]).length).toBe(2_000_000);
    expect(await weightsError(tmp('wide.pth', buildCheckpoint('archive', p.bytes(), {})))).toMatch(
      /holds a list, not a state_dict/,
    );
  });
  it('a 20 MB LONG4 integer is refused at once (it used to take quadratic time)', async () => {
    const n = 20_000_000;
    const big = new Uint8Array(1 + 1 + 1 + 4 + n + 1);
    big.set([0x80, 0x02, 0x8b, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff]);
    big[big.length - 1] = 0x2e;
    const t0 = performance.now();
    expect(await weightsError(tmp('long4.pth', buildCheckpoint('archive', big, {})))).toMatch(
      /integer of 20000000 bytes/,
    );
    console.log(`20 MB LONG4 refused in ${Math.round(performance.now() - t0)} ms`);
    const long1 = new PickleWriter()
      .proto(2)
      .raw(0x8a, 200, ...new Uint8Array(200))
      .stop();
    expect(() => unpickle(long1.bytes(), noGlobals)).toThrow(/integer of 200 bytes/);
  });
  it('unpickleAsync yields to the event loop and stops when its signal aborts', async () => {
    const p = new PickleWriter().proto(2).raw(0x5d).mark();
    for (let i = 0; i < 1_000_000; i++) p.raw(0x4e);
    p.raw(0x65).stop();
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
      controller.abort();
    }, 0);
    try {
      await expect(unpickleAsync(p.bytes(), noGlobals, controller.signal)).rejects.toThrow(/abort/i);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
    expect((await unpickleAsync(p.bytes(), noGlobals)) as unknown[]).toHaveLength(1_000_000);
  });
});

describe('.pth views', () => {
  it('a stride-0 view that would expand 4 bytes of storage into 1 GiB is refused at open', async () => {
    const pkl = stateDictPickle([
      {
        name: 'w',
        storageType: 'FloatStorage',
        storageKey: '0',
        storageNumel: 1,
        offset: 0,
        shape: [2 ** 28],
        stride: [0],
      },
    ]);
    const msg = await weightsError(tmp('expand.pth', buildCheckpoint('archive', pkl, { '0': f32Bytes([1]) })));
    expect(msg).toMatch(
      /tensor 'w': view \[268435456\] with strides \[0\] repeats storage elements \(1\.0 GiB from 4 bytes of storage\)/,
    );
  });
  it('an ordinary transposed (non-contiguous) view still loads', async () => {
    const pkl = stateDictPickle([
      {
        name: 'w',
        storageType: 'FloatStorage',
        storageKey: '0',
        storageNumel: 6,
        offset: 0,
        shape: [3, 2],
        stride: [1, 3],
      },
    ]);
    const sd = await loadStateDict(
      tmp('t.pth', buildCheckpoint('archive', pkl, { '0': f32Bytes([1, 2, 3, 4, 5, 6]) })),
    );
    expect(Array.from(sd.tensors.get('w')!.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('files that are not regular files', () => {
  it('a named pipe is refused at once instead of blocking on open', async () => {
    const fifo = tmp('pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    await expect(openWeights(fifo)).rejects.toThrow(/is a named pipe \(FIFO\), not a regular file/);
  });
});

describe('non-finite weights', () => {
  it('countNonFinite counts each kind and finds the first', () => {
    expect(countNonFinite(Float32Array.from([1, 2, 3]))).toBeUndefined();
    expect(countNonFinite(Float32Array.from([1, NaN, Infinity, -Infinity, NaN]))).toEqual({
      nan: 2,
      posInf: 1,
      negInf: 1,
      first: 1,
    });
  });
  it('assertFiniteWeights names the tensor, the count and the kinds; −Inf only where allowed', () => {
    const tensors = new Map([
      ['ok', { data: Float32Array.from([0, 1]) }],
      ['mask', { data: Float32Array.from([0, -Infinity]) }],
      ['w', { data: Float32Array.from([1, NaN, NaN, 2]) }],
    ]);
    expect(() => assertFiniteWeights(tensors, 'f.safetensors', { negInfAllowed: (k) => k === 'mask' })).toThrow(
      "f.safetensors: tensor 'w' holds 2 non-finite values of 4 (2 NaN; the first at index 1)",
    );
    expect(() => assertFiniteWeights(tensors, 'f.safetensors')).toThrow(
      /tensor 'mask' holds 1 non-finite value of 2 \(1 −Inf.*\(and 1 more tensor\)/,
    );
  });
});
