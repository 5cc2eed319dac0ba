import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../errors.js';
import { loadStateDict, openSafetensors, openWeights } from './index.js';
import { fixture } from './fixture-paths.test-support.js';
import { useTempDir } from './tmpdir.test-support.js';
import { PickleWriter, buildCheckpoint, buildZip, f32Bytes, stateDictPickle } from './pth/test-support.js';

const tmp = useTempDir();

/** Loads `path` and returns the WeightsError, checking the one-line, file-naming contract. */
async function weightsError(path: string): Promise<WeightsError> {
  const err = await loadStateDict(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WeightsError);
  const we = err as WeightsError;
  expect(we.code).toBe('E_WEIGHTS');
  expect(we.file).toBe(path);
  expect(we.message.startsWith(`${path}: `)).toBe(true);
  expect(we.message).not.toContain('\n');
  // Listing must fail the same way (nothing is deferred to the first read).
  await expect(openWeights(path)).rejects.toThrow(we.message);
  return we;
}

function safetensors(header: Record<string, unknown>, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const VAR_ST = readFileSync(fixture('var.safetensors'));
const VAR_PTH = readFileSync(fixture('var.pth'));

describe('file-level errors', () => {
  it('missing file', async () => {
    expect((await weightsError(tmp('nope.safetensors'))).message).toMatch(/file not found; check the path$/);
  });
  it('empty file', async () => {
    expect((await weightsError(tmp('empty.pth', ''))).message).toMatch(/file is empty \(0 bytes\)/);
  });
  it('a directory', async () => {
    expect((await weightsError(tmp(''))).message).toMatch(/is a directory/);
  });
  it('not a weights file', async () => {
    const we = await weightsError(tmp('notes.txt', 'hello, these are not weights at all'));
    expect(we.message).toMatch(
      /not a weights file: neither safetensors nor a PyTorch zip checkpoint \(first bytes: 68 65 6c/,
    );
  });
  it('a legacy (pre-zip) torch.save file', async () => {
    expect(
      (await weightsError(tmp('legacy.pth', Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20]))))
        .message,
    ).toMatch(/legacy \(pre-1\.6, non-zip\) torch\.save file/);
  });
});

describe('safetensors errors', () => {
  it('header length larger than the file (truncated inside the header)', async () => {
    expect((await weightsError(tmp('cut-header.safetensors', VAR_ST.subarray(0, 100)))).message).toMatch(
      /truncated: the header claims \d+ bytes but only 92 follow.*get the file again/,
    );
  });
  it('data cut short', async () => {
    const we = await weightsError(tmp('cut-data.safetensors', VAR_ST.subarray(0, VAR_ST.length - 100)));
    expect(we.message).toMatch(/truncated: tensor 'head\.bias' ends at byte 668712 but the file has only 668612 bytes/);
  });
  it('absurd header length', async () => {
    const b = Buffer.from(VAR_ST.subarray(0, 64));
    b.writeBigUInt64LE(0xffff_ffff_ffffn, 0);
    expect((await weightsError(tmp('absurd.safetensors', b))).message).toMatch(/not a safetensors file: .*impossible/);
  });
  it('bad JSON header', async () => {
    const b = Buffer.from(VAR_ST);
    b.write('#', 9 + 10); // inside "__metadata__"
    b[20] = 0x22; // and an unbalanced quote
    expect((await weightsError(tmp('badjson.safetensors', b))).message).toMatch(
      /header is not valid JSON .*the file is corrupt/,
    );
  });
  it('header that is not an object', async () => {
    const json = Buffer.from('[1, 2]  ');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(8n);
    const path = tmp('array.safetensors', Buffer.concat([len, json]));
    // Sniffing sees no '{' and calls it not a weights file; the explicit reader says why.
    expect((await weightsError(path)).message).toMatch(/not a weights file/);
    await expect(openSafetensors(path)).rejects.toThrow(/safetensors header is not a JSON object/);
  });
  it('entry without data_offsets / dtype / shape', async () => {
    expect(
      (
        await weightsError(
          tmp('no-offsets.safetensors', safetensors({ a: { dtype: 'F32', shape: [1] } }, new Uint8Array(4))),
        )
      ).message,
    ).toMatch(/tensor 'a': header entry has no data_offsets/);
    expect(
      (
        await weightsError(
          tmp('no-dtype.safetensors', safetensors({ a: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))),
        )
      ).message,
    ).toMatch(/tensor 'a': header entry has no dtype/);
    expect(
      (
        await weightsError(
          tmp('no-shape.safetensors', safetensors({ a: { dtype: 'F32', data_offsets: [0, 4] } }, new Uint8Array(4))),
        )
      ).message,
    ).toMatch(/tensor 'a': header entry has no shape/);
  });
  it('unknown dtype', async () => {
    const we = await weightsError(
      tmp(
        'f8.safetensors',
        safetensors({ a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4)),
      ),
    );
    expect(we.message).toMatch(/tensor 'a': unsupported dtype "F8_E4M3" \(supported: F64, F32/);
  });
  it('byte length that does not match the shape', async () => {
    const we = await weightsError(
      tmp(
        'len.safetensors',
        safetensors({ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(16)),
      ),
    );
    expect(we.message).toMatch(/data_offsets \[0, 12\] hold 12 bytes but F32 \[2, 2\] needs 16/);
  });
  it('overlapping tensors', async () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expect((await weightsError(tmp('overlap.safetensors', safetensors(header, new Uint8Array(12))))).message).toMatch(
      /tensors 'a' and 'b' share bytes: 'b' \[4, 12\) overlaps 'a'/,
    );
  });
  it('bad offsets', async () => {
    const we = await weightsError(
      tmp(
        'offs.safetensors',
        safetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Uint8Array(8)),
      ),
    );
    expect(we.message).toMatch(/data_offsets \[8,4\] must be \[begin, end\]/);
  });
});

describe('.pth / zip errors', () => {
  const pkl = stateDictPickle([
    {
      name: 'w',
      storageType: 'FloatStorage',
      storageKey: '0',
      storageNumel: 4,
      offset: 0,
      shape: [2, 2],
      stride: [2, 1],
    },
  ]);
  const storages = { '0': f32Bytes([1, 2, 3, 4]) };

  it('truncated archive (no end-of-central-directory record)', async () => {
    const we = await weightsError(tmp('cut.pth', VAR_PTH.subarray(0, VAR_PTH.length - 300)));
    expect(we.message).toMatch(
      /corrupt zip archive: no end-of-central-directory record; the file is truncated or damaged/,
    );
  });
  it('damaged central directory', async () => {
    const b = Buffer.from(VAR_PTH);
    const cd = b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    b[cd + 2] = 0x09;
    expect((await weightsError(tmp('cd.pth', b))).message).toMatch(
      /corrupt zip archive: bad central directory entry #0/,
    );
  });
  it('flipped byte in data.pkl (CRC mismatch)', async () => {
    const b = Buffer.from(VAR_PTH);
    const at = b.indexOf(Buffer.from('pos_1LC'));
    b[at] ^= 0x20;
    expect((await weightsError(tmp('crc.pth', b))).message).toMatch(/CRC mismatch in member 'var\/data\.pkl'/);
  });
  it('a zip that is not a checkpoint', async () => {
    const zip = buildZip([{ name: 'readme.txt', data: Buffer.from('hi') }]);
    expect((await weightsError(tmp('plain.zip', zip))).message).toMatch(/zip archive but not a PyTorch checkpoint/);
  });
  it('compressed members', async () => {
    const we = await weightsError(tmp('deflate.pth', buildCheckpoint('archive', pkl, storages, { method: 8 })));
    expect(we.message).toMatch(/member 'archive\/data\.pkl' is compressed \(zip method 8\).*zip -0/);
  });
  it('disallowed global os.system', async () => {
    // What `pickle.dumps` of an object whose __reduce__ returns (os.system, ('echo pwned',)) looks like.
    const evil = Buffer.concat([
      Buffer.from('\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.', 'latin1'),
    ]);
    const we = await weightsError(tmp('evil.pth', buildCheckpoint('archive', evil, {})));
    expect(we.message).toMatch(/refusing to load: the pickle references the global os\.system/);
  });
  it('disallowed global via STACK_GLOBAL (protocol 4, builtins.eval)', async () => {
    const p = new PickleWriter().proto(4).raw(0x95, 0, 0, 0, 0, 0, 0, 0, 0);
    p.raw(0x8c, 8, 'builtins', 0x94, 0x8c, 4, 'eval', 0x94, 0x93, 0x94).mark().str('1+1').tuple().reduce().stop();
    expect((await weightsError(tmp('eval.pth', buildCheckpoint('x', p.bytes(), {})))).message).toMatch(
      /global builtins\.eval/,
    );
  });
  it('object-building opcodes', async () => {
    const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().raw(0x81).stop();
    expect((await weightsError(tmp('newobj.pth', buildCheckpoint('x', p.bytes(), {})))).message).toMatch(
      /opcode NEWOBJ is not allowed/,
    );
  });
  it('unsupported storage type', async () => {
    const bad = stateDictPickle([
      {
        name: 'c',
        storageType: 'ComplexFloatStorage',
        storageKey: '0',
        storageNumel: 2,
        offset: 0,
        shape: [2],
        stride: [1],
      },
    ]);
    expect(
      (await weightsError(tmp('complex.pth', buildCheckpoint('archive', bad, { '0': new Uint8Array(16) })))).message,
    ).toMatch(/unsupported storage type torch\.ComplexFloatStorage/);
  });
  it('missing storage member', async () => {
    expect((await weightsError(tmp('nostorage.pth', buildCheckpoint('archive', pkl, {})))).message).toMatch(
      /tensor 'w': storage member 'archive\/data\/0' is missing/,
    );
  });
  it('view past the end of its storage', async () => {
    const big = stateDictPickle([
      {
        name: 'w',
        storageType: 'FloatStorage',
        storageKey: '0',
        storageNumel: 4,
        offset: 1,
        shape: [2, 2],
        stride: [2, 1],
      },
    ]);
    expect((await weightsError(tmp('past.pth', buildCheckpoint('archive', big, storages)))).message).toMatch(
      /tensor 'w': view \[2, 2\] at offset 1 reaches past the end of its storage/,
    );
  });
  it('a checkpoint that is not a plain state_dict', async () => {
    const p = new PickleWriter().proto(2).emptyDict().str('epoch').int(3).raw(0x73).stop();
    expect((await weightsError(tmp('ckpt.pth', buildCheckpoint('archive', p.bytes(), {})))).message).toMatch(
      /entry 'epoch' is a number, not a tensor: this is not a plain state_dict/,
    );
    const list = new PickleWriter().proto(2).raw(0x5d).stop();
    expect((await weightsError(tmp('list.pth', buildCheckpoint('archive', list.bytes(), {})))).message).toMatch(
      /holds a list, not a state_dict/,
    );
  });
  it('truncated pickle', async () => {
    const cut = pkl.subarray(0, pkl.length - 10);
    expect((await weightsError(tmp('cutpkl.pth', buildCheckpoint('archive', cut, storages)))).message).toMatch(
      /corrupt archive\/data\.pkl: pickle data ends unexpectedly/,
    );
  });
});
