/**
 * A minimal writer for ONNX's protobuf `ModelProto` (onnx/onnx.proto, IR version 8): just the messages and fields the
 * engine's one-op graphs need. No npm package builds ONNX models without pulling in a protobuf runtime and the whole
 * schema (`onnx-proto` is generated code for protobufjs, unmaintained since 2020), and the wire format of these few
 * messages is small: varints, length-delimited fields and little-endian floats.
 *
 * Field numbers (onnx.proto): ModelProto ir_version 1, producer_name 2, graph 7, opset_import 8;
 * OperatorSetIdProto domain 1, version 2; GraphProto node 1, name 2, initializer 5, input 11, output 12;
 * NodeProto input 1, output 2, name 3, op_type 4, attribute 5, domain 7; AttributeProto name 1, f 2, i 3, s 4, ints 8,
 * type 20; TensorProto dims 1, data_type 2, name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
 * TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1, dim_param 2.
 */

export const FLOAT = 1;
export const INT64 = 7;

/** A tensor dimension: a fixed size or a symbolic name (a dynamic axis). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  dims: readonly Dim[];
}

export interface Initializer {
  name: string;
  dataType: typeof FLOAT | typeof INT64;
  dims: readonly number[];
  /** The values; float32 data is written as it is (raw_data, little-endian), int64 from numbers. */
  data: Float32Array | readonly number[];
}

export type AttributeValue = { f: number } | { i: number } | { s: string } | { ints: readonly number[] };

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Record<string, AttributeValue>;
  domain?: string;
}

export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  initializers: readonly Initializer[];
  /** Default-domain opset (default 18). */
  opset?: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

/** Bytes are collected as chunks and concatenated once, so a weight's raw_data is copied exactly once. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.length += this.scratch.length;
      this.scratch = [];
    }
  }

  varint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER)
      throw new RangeError(`onnx writer: bad varint ${v}`);
    while (v >= 0x80) {
      this.scratch.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.scratch.push(v);
  }

  /** A signed int64 as protobuf writes it (two's complement, 10 bytes for negatives). */
  int64(v: number): void {
    if (v >= 0) return this.varint(v);
    let big = BigInt.asUintN(64, BigInt(v));
    while (big >= 0x80n) {
      this.scratch.push(Number(big & 0x7fn) | 0x80);
      big >>= 7n;
    }
    this.scratch.push(Number(big));
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.flushScratch();
    this.chunks.push(b);
    this.length += b.length;
  }

  fieldVarint(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.int64(v);
  }

  fieldString(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    this.bytes(new TextEncoder().encode(s));
  }

  fieldBytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.bytes(b);
  }

  fieldMessage(field: number, write: (w: Writer) => void): void {
    const sub = new Writer();
    write(sub);
    this.tag(field, WIRE_LEN);
    this.varint(sub.length + sub.scratch.length);
    sub.flushScratch();
    this.flushScratch();
    for (const c of sub.chunks) this.chunks.push(c);
    this.length += sub.length;
  }

  fieldFloat(field: number, v: number): void {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.scratch.push(x);
  }

  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.fieldString(1, v.name);
  w.fieldMessage(2, (t) =>
    t.fieldMessage(1, (tt) => {
      tt.fieldVarint(1, v.elemType);
      tt.fieldMessage(2, (s) => {
        for (const d of v.dims) {
          s.fieldMessage(1, (dm) => (typeof d === 'number' ? dm.fieldVarint(1, d) : dm.fieldString(2, d)));
        }
      });
    }),
  );
}

/** One initializer's values handed to ONNX Runtime beside the model (its `externalData` session option). */
export interface ExternalData {
  path: string;
  data: Uint8Array;
}

function writeInitializer(w: Writer, t: Initializer, external: ExternalData[] | null): void {
  for (const d of t.dims) w.fieldVarint(1, d);
  w.fieldVarint(2, t.dataType);
  w.fieldString(8, t.name);
  if (external && t.dataType === FLOAT) {
    // TensorProto external_data (13: key/value entries) and data_location (14) = EXTERNAL (1): the values stay in
    // their own array, named by a path that only this model's externalData list resolves
    const f = t.data as Float32Array;
    const path = `initializer${external.length}.bin`;
    external.push({ path, data: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) });
    for (const [key, value] of [
      ['location', path],
      ['offset', '0'],
      ['length', String(f.byteLength)],
    ]) {
      w.fieldMessage(13, (e) => {
        e.fieldString(1, key);
        e.fieldString(2, value);
      });
    }
    w.fieldVarint(14, 1);
  } else if (t.dataType === FLOAT) {
    const f = t.data as Float32Array;
    w.fieldBytes(9, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  } else {
    const raw = new Uint8Array(8 * t.data.length);
    const dv = new DataView(raw.buffer);
    (t.data as readonly number[]).forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
    w.fieldBytes(9, raw);
  }
}

function writeNode(w: Writer, n: NodeSpec, index: number): void {
  for (const i of n.inputs) w.fieldString(1, i);
  for (const o of n.outputs) w.fieldString(2, o);
  w.fieldString(3, `${n.opType}_${index}`);
  w.fieldString(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes ?? {})) {
    w.fieldMessage(5, (aw) => {
      aw.fieldString(1, name);
      if ('f' in a) {
        aw.fieldFloat(2, a.f);
        aw.fieldVarint(20, 1); // FLOAT
      } else if ('i' in a) {
        aw.fieldVarint(3, a.i);
        aw.fieldVarint(20, 2); // INT
      } else if ('s' in a) {
        aw.fieldString(4, a.s);
        aw.fieldVarint(20, 3); // STRING
      } else {
        for (const v of a.ints) aw.fieldVarint(8, v);
        aw.fieldVarint(20, 7); // INTS
      }
    });
  }
  if (n.domain) w.fieldString(7, n.domain);
}

/** Serialises a one-graph model. Float initializers are copied once into the result (their raw_data). */
export function encodeModel(g: GraphSpec): Uint8Array {
  return writeModel(g, null);
}

/**
 * Serialises a one-graph model whose float initializers of at least `minBytes` stay outside it, each in its own array
 * (not copied): pass `externalData` to InferenceSession.create's options (onnxruntime-node reads them from memory and
 * copies them into its own tensors, so the arrays may be dropped once the session exists).
 */
export function encodeModelExternal(
  g: GraphSpec,
  minBytes = 1 << 16,
): { bytes: Uint8Array; externalData: ExternalData[] } {
  const externalData: ExternalData[] = [];
  const big = (t: Initializer) => t.dataType === FLOAT && (t.data as Float32Array).byteLength >= minBytes;
  const bytes = writeModel(g, externalData, big);
  return { bytes, externalData };
}

function writeModel(
  g: GraphSpec,
  external: ExternalData[] | null,
  isExternal: (t: Initializer) => boolean = () => false,
): Uint8Array {
  const w = new Writer();
  w.fieldVarint(1, 8); // IR version 8
  w.fieldString(2, 'nextscale-engine-onnx');
  w.fieldMessage(7, (gw) => {
    g.nodes.forEach((n, i) => gw.fieldMessage(1, (nw) => writeNode(nw, n, i)));
    gw.fieldString(2, g.name);
    for (const t of g.initializers)
      gw.fieldMessage(5, (tw) => writeInitializer(tw, t, isExternal(t) ? external : null));
    for (const v of g.inputs) gw.fieldMessage(11, (vw) => writeValueInfo(vw, v));
    for (const v of g.outputs) gw.fieldMessage(12, (vw) => writeValueInfo(vw, v));
  });
  w.fieldMessage(8, (ow) => {
    ow.fieldString(1, '');
    ow.fieldVarint(2, g.opset ?? 18);
  });
  // ONNX Runtime's contrib ops (e.g. com.microsoft FusedMatMul) need their domain imported; they are all version 1
  for (const domain of new Set(g.nodes.flatMap((n) => (n.domain ? [n.domain] : []))))
    w.fieldMessage(8, (ow) => {
      ow.fieldString(1, domain);
      ow.fieldVarint(2, 1);
    });
  return w.finish();
}
