import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from './index.js';
import { openFile, readAt } from './io.js';
import { useTempDir } from './tmpdir.test-support.js';

const tmp = useTempDir();

describe('positional I/O', () => {
  it('readAt splits reads into chunks and reports truncation', async () => {
    const f = await openFile(
      tmp(
        'bytes.bin',
        Uint8Array.from({ length: 100 }, (_, i) => i),
      ),
    );
    try {
      const got = await readAt(f, 10, 50, 'test', 7);
      expect(Array.from(got)).toEqual(Array.from({ length: 50 }, (_, i) => i + 10));
      await expect(readAt(f, 90, 20, 'the tail')).rejects.toThrow(
        /truncated: the tail needs bytes up to 110 but the file has only 100 bytes/,
      );
    } finally {
      await f.handle.close();
    }
  });

  it('reads a tensor beyond 4 GiB in a (sparse) multi-GB safetensors file without reading the rest', async () => {
    const big = 5_000_000_000; // bytes of U8 data before the tensor we read
    const json = JSON.stringify({
      big: { dtype: 'U8', shape: [big], data_offsets: [0, big] },
      tail: { dtype: 'F32', shape: [4], data_offsets: [big, big + 16] },
    });
    const header = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const path = tmp('sparse.safetensors');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, Buffer.concat([len, header]), 0, 8 + header.length, 0);
      writeSync(fd, new Uint8Array(Float32Array.from([1, 2, -3, 0.5]).buffer), 0, 16, 8 + header.length + big);
    } finally {
      closeSync(fd);
    }
    const f = await openSafetensors(path);
    try {
      expect(f.fileSize).toBe(8 + header.length + big + 16);
      expect(Array.from(await f.read('tail'))).toEqual([1, 2, -3, 0.5]);
    } finally {
      await f.close();
    }
  });
});
