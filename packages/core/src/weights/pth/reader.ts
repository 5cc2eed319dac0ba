/**
 * PyTorch (>= 1.6) zip checkpoints: `<folder>/data.pkl` describes the state_dict, and each storage
 * is a raw member `<folder>/data/<key>`. The folder name depends on the file name at save time, so it
 * is found, never assumed. Tensors are views (offset + strides) into storages and are read
 * by position, one at a time.
 */
import { AbortedError, WeightsError } from '../../errors.js';
import { type DType, DTYPE_SIZE, toFloat32 } from '../dtype.js';
import { assertUnchanged, checkReadInto, type OpenedFile, openFile } from '../io.js';
import type { TensorInfo, WeightsReader } from '../types.js';
import { TorchPickleError, type TensorRef, UnpickleError, unpickleStateDict } from './torch-pickle.js';
import { type ZipArchive, type ZipEntry, openZip } from './zip.js';

/** data.pkl of the largest released VAR is well under 1 MB; this only stops absurd inputs. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;

export interface PthFile extends WeightsReader {
  readonly format: 'pth';
  /** The archive's top folder (e.g. `var/` or `archive/`), with the trailing slash. */
  readonly prefix: string;
}

/** Opens a PyTorch zip checkpoint (whatever its extension) and reads its state_dict index. */
export async function openPth(path: string, options: { signal?: AbortSignal } = {}): Promise<PthFile> {
  const file = await openFile(path);
  try {
    return await parsePth(file, options.signal);
  } catch (err) {
    await file.handle.close().catch(() => undefined);
    throw err;
  }
}

export async function parsePth(file: OpenedFile, signal?: AbortSignal): Promise<PthFile> {
  const fail = (problem: string): never => {
    throw new WeightsError(file.path, problem);
  };
  const zip = await openZip(file);
  const pklEntry = findDataPkl(zip, fail);
  const prefix = pklEntry.name.slice(0, -'data.pkl'.length);

  let littleEndian = true;
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder) {
    const s = new TextDecoder().decode(await zip.readMember(byteorder)).trim();
    if (s !== 'little' && s !== 'big') fail(`unknown byteorder '${s}' in the archive`);
    littleEndian = s === 'little';
  }

  if (pklEntry.size > MAX_PICKLE_BYTES)
    fail(`${pklEntry.name} is ${pklEntry.size} bytes, too large for a state_dict pickle`);
  const pkl = await zip.readMember(pklEntry);
  let refs: Map<string, TensorRef>;
  try {
    refs = await unpickleStateDict(pkl, signal);
  } catch (err) {
    if (signal?.aborted) throw new AbortedError();
    if (err instanceof TorchPickleError || err instanceof UnpickleError) {
      fail(err instanceof UnpickleError ? `corrupt ${pklEntry.name}: ${err.message}` : err.message);
    }
    throw err;
  }

  // Validate every view against its storage member now, so a bad file fails at open, not mid-load.
  const members = new Map<string, ZipEntry>();
  const tensors: TensorInfo[] = [];
  for (const [name, t] of refs) {
    const memberName = `${prefix}data/${t.storage.key}`;
    const member = zip.entries.get(memberName);
    if (!member) fail(`tensor '${name}': storage member '${memberName}' is missing from the archive`);
    const storageBytes = t.storage.numel * (t.storage.type.dtype ? DTYPE_SIZE[t.storage.type.dtype] : 1);
    if (member!.size < storageBytes) {
      fail(
        `tensor '${name}': storage '${memberName}' has ${member!.size} bytes but the pickle says ${storageBytes}; the file is corrupt`,
      );
    }
    const { first, last } = elementExtent(t);
    const item = DTYPE_SIZE[t.dtype];
    if (last >= first && (last + 1) * item > member!.size) {
      fail(
        `tensor '${name}': view [${t.shape.join(', ')}] at offset ${t.offset} reaches past the end of its storage; the file is corrupt`,
      );
    }
    // More elements than the storage span holds means the view reads some of them several times
    // (a stride-0 `expand`, or a crafted overlap): materialised it could be any size (a 665-byte file
    // can describe a terabyte). torch.save of a module's state_dict never writes one.
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (last >= first && numel > last - first + 1) {
      fail(
        `tensor '${name}': view [${t.shape.join(', ')}] with strides [${t.stride.join(', ')}] repeats storage elements ` +
          `(${formatBytes(numel * item)} from ${formatBytes((last - first + 1) * item)} of storage), which a saved state_dict never does; ` +
          'the file is corrupt or hostile (in PyTorch, save {k: v.contiguous() for k, v in state_dict.items()} instead)',
      );
    }
    members.set(name, member!);
    tensors.push({ name, dtype: t.dtype, shape: [...t.shape] });
  }
  return makeReader(file, zip, prefix, refs, members, tensors, littleEndian);
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

function findDataPkl(zip: ZipArchive, fail: (p: string) => never): ZipEntry {
  const candidates = [...zip.entries.values()].filter(
    (e) =>
      e.name === 'data.pkl' ||
      (e.name.endsWith('/data.pkl') && e.name.indexOf('/') === e.name.length - '/data.pkl'.length),
  );
  if (candidates.length === 0) {
    fail('is a zip archive but not a PyTorch checkpoint (no <folder>/data.pkl inside)');
  }
  if (candidates.length > 1) {
    fail(`ambiguous PyTorch archive: several data.pkl members (${candidates.map((c) => c.name).join(', ')})`);
  }
  return candidates[0];
}

/** First and last storage element a view touches (strides are never negative in torch). */
function elementExtent(t: TensorRef): { first: number; last: number } {
  let last = t.offset;
  for (let d = 0; d < t.shape.length; d++) {
    if (t.shape[d] === 0) return { first: t.offset, last: t.offset - 1 };
    last += (t.shape[d] - 1) * t.stride[d];
  }
  return { first: t.offset, last };
}

function isRowMajor(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    // Strides of size-1 dimensions are irrelevant (torch leaves them arbitrary).
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

function makeReader(
  file: OpenedFile,
  zip: ZipArchive,
  prefix: string,
  refs: Map<string, TensorRef>,
  members: Map<string, ZipEntry>,
  tensors: TensorInfo[],
  littleEndian: boolean,
): PthFile {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  let closed = false;
  const readBytes = async (name: string): Promise<Uint8Array> => {
    if (closed) throw new WeightsError(file.path, `cannot read '${name}': the file was closed`);
    const t = refs.get(name);
    if (!t) throw new WeightsError(file.path, `no tensor named '${name}'`);
    const item = DTYPE_SIZE[t.dtype];
    const { first, last } = elementExtent(t);
    if (last < first) return new Uint8Array(0);
    const span = await zip.readRange(members.get(name)!, first * item, (last - first + 1) * item);
    let out = isRowMajor(t.shape, t.stride) ? span : gather(span, t, item);
    if (!littleEndian) out = swapBytes(out === span ? span : out, item);
    return out;
  };
  return {
    path: file.path,
    format: 'pth',
    prefix,
    metadata: {},
    tensors,
    fileSize: file.size,
    info: (name) => byName.get(name),
    readBytes,
    read: async (name) => toFloat32(await readBytes(name), refs.get(name)!.dtype as DType),
    readInto: async (name, out) => {
      const bytes = await readBytes(name);
      const dtype = refs.get(name)!.dtype as DType;
      checkReadInto(file.path, name, out, bytes.length / DTYPE_SIZE[dtype]);
      out.set(toFloat32(bytes, dtype));
    },
    assertUnchanged: () => assertUnchanged(file),
    close: async () => {
      if (closed) return;
      closed = true;
      await file.handle.close();
    },
  };
}

/** Copies a strided view (bytes starting at its first element) into row-major order. */
function gather(span: Uint8Array, t: TensorRef, item: number): Uint8Array {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(numel * item);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = 0; // element offset relative to the first element
  for (let i = 0; i < numel; i++) {
    out.set(span.subarray(src * item, src * item + item), i * item);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += t.stride[d];
      if (idx[d] < t.shape[d]) break;
      src -= t.stride[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function swapBytes(bytes: Uint8Array, item: number): Uint8Array {
  if (item === 1) return bytes;
  for (let i = 0; i < bytes.length; i += item) {
    for (let a = i, b = i + item - 1; a < b; a++, b--) {
      const tmp = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = tmp;
    }
  }
  return bytes;
}
