// Test-only builders (exported from `@nextscale/core/testing` for other packages' hostile-input tests): a
// hand-rolled pickle writer and a minimal zip writer (with a forced-ZIP64 mode), so tests can craft checkpoints torch
// would write and hostile/corrupt ones it never would, without Python.
import { deflateRawSync } from 'node:zlib';
import * as zlib from 'node:zlib';

export class PickleWriter {
  private parts: number[] = [];

  raw(...bytes: (number | Uint8Array | string)[]): this {
    for (const b of bytes) {
      if (typeof b === 'number') this.parts.push(b);
      else if (typeof b === 'string') for (const c of Buffer.from(b, 'latin1')) this.parts.push(c);
      else for (const c of b) this.parts.push(c);
    }
    return this;
  }
  proto(n = 2): this {
    return this.raw(0x80, n);
  }
  mark(): this {
    return this.raw(0x28);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.raw(0x58, ...le(b.length, 4), b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, ...le(n, 2));
    return this.raw(0x4a, ...le(n >>> 0, 4));
  }
  global(module: string, name: string): this {
    return this.raw(0x63, `${module}\n${name}\n`);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  persid(): this {
    return this.raw(0x51);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  newfalse(): this {
    return this.raw(0x89);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  intTuple(xs: number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function le(n: number, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return out;
}

export interface TensorSpec {
  name: string;
  storageType: string; // e.g. 'FloatStorage'
  storageKey: string;
  storageNumel: number;
  offset: number;
  shape: number[];
  stride: number[];
  /** Wrap in torch._utils._rebuild_parameter, as nn.Parameter state_dicts sometimes are. */
  parameter?: boolean;
}

/** The pickle torch.save writes for an OrderedDict of tensors (protocol 2). */
export function stateDictPickle(tensors: TensorSpec[]): Uint8Array {
  const p = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) {
    p.str(t.name);
    if (t.parameter) p.global('torch._utils', '_rebuild_parameter').mark();
    p.global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark()
      .str('storage')
      .global('torch', t.storageType)
      .str(t.storageKey)
      .str('cpu')
      .int(t.storageNumel)
      .tuple()
      .persid();
    p.int(t.offset).intTuple(t.shape).intTuple(t.stride).newfalse();
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
    if (t.parameter) p.newfalse().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  return p.setitems().stop().bytes();
}

export interface ZipMember {
  name: string;
  data: Uint8Array;
  /** 0 = stored (default), 8 = deflate. */
  method?: 0 | 8;
}

/**
 * Writes a zip archive. `zip64` forces ZIP64 records and extra fields everywhere (as a writer does
 * for > 4 GiB archives) so the reader's ZIP64 path is exercised with a small file.
 */
export function buildZip(members: ZipMember[], opts: { zip64?: boolean; comment?: string } = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    offset += b.length;
  };
  const central: Uint8Array[] = [];
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const method = m.method ?? 0;
    const payload = method === 8 ? new Uint8Array(deflateRawSync(m.data)) : m.data;
    const crc = zlib.crc32(m.data) >>> 0;
    const localOffset = offset;
    const z = opts.zip64;
    const localExtra = z
      ? Buffer.from([0x01, 0x00, 16, 0, ...le(m.data.length, 8), ...le(payload.length, 8)])
      : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(z ? 45 : 20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(z ? 0xffffffff : payload.length, 18);
    local.writeUInt32LE(z ? 0xffffffff : m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    push(Buffer.concat([local, name, localExtra]));
    push(payload);
    const cdExtra = z
      ? Buffer.from([0x01, 0x00, 24, 0, ...le(m.data.length, 8), ...le(payload.length, 8), ...le(localOffset, 8)])
      : Buffer.alloc(0);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(z ? 45 : 20, 4);
    c.writeUInt16LE(z ? 45 : 20, 6);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(z ? 0xffffffff : payload.length, 20);
    c.writeUInt32LE(z ? 0xffffffff : m.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(cdExtra.length, 30);
    c.writeUInt32LE(z ? 0xffffffff : localOffset, 42);
    central.push(Buffer.concat([c, name, cdExtra]));
  }
  const cdOffset = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdOffset;
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(members.length), 24);
    rec.writeBigUInt64LE(BigInt(members.length), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const recOffset = offset;
    push(rec);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(recOffset), 8);
    loc.writeUInt32LE(1, 16);
    push(loc);
  }
  const comment = Buffer.from(opts.comment ?? '', 'utf8');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : members.length, 8);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : members.length, 10);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cdSize, 12);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cdOffset, 16);
  eocd.writeUInt16LE(comment.length, 20);
  push(Buffer.concat([eocd, comment]));
  return Buffer.concat(chunks);
}

/** A torch-style checkpoint archive around a data.pkl and raw storages. */
export function buildCheckpoint(
  folder: string,
  pkl: Uint8Array,
  storages: Record<string, Uint8Array>,
  opts: { zip64?: boolean; byteorder?: 'little' | 'big'; method?: 0 | 8 } = {},
): Uint8Array {
  const members: ZipMember[] = [{ name: `${folder}/data.pkl`, data: pkl, method: opts.method }];
  if (opts.byteorder) members.push({ name: `${folder}/byteorder`, data: Buffer.from(opts.byteorder) });
  for (const [key, data] of Object.entries(storages)) members.push({ name: `${folder}/data/${key}`, data });
  members.push({ name: `${folder}/version`, data: Buffer.from('3\n') });
  members.push({ name: `${folder}/.data/serialization_id`, data: Buffer.from('1234567890\n') });
  return buildZip(members, { zip64: opts.zip64 });
}

export const f32Bytes = (xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer);
