/**
 * What a `torch.save(state_dict)` pickle means: the handful of torch/collections globals a state_dict
 * uses, mapped to inert JS stand-ins. Anything else is refused by name, which is the whole point:
 * loading a checkpoint must never be a way to run code.
 */
import type { DType } from '../dtype.js';
import { type PyCallable, type PyDict, PyTuple, UnpickleError, describe, unpickleAsync } from './unpickle.js';

/** A torch storage class (`torch.FloatStorage`, …); `dtype` is null for untyped/unsupported ones. */
export interface StorageType {
  readonly kind: 'storage-type';
  readonly qualifiedName: string;
  readonly dtype: DType | null;
}

/** A torch dtype object (`torch.float32`, …) as passed to `_rebuild_tensor_v3`. */
export interface TorchDType {
  readonly kind: 'dtype';
  readonly qualifiedName: string;
  readonly dtype: DType | null;
}

/** One archive member `data/<key>` holding a flat storage. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly key: string;
  readonly type: StorageType;
  /** Size in elements of `type` (bytes for untyped storages). */
  readonly numel: number;
}

/** A tensor view into a storage: element offset, shape and strides in elements. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly dtype: DType;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const TORCH_DTYPES: Record<string, DType> = {
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  double: 'F64',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Torch dtypes we recognise but cannot convert; named so the error can be precise. */
const OTHER_TORCH_DTYPES = new Set([
  'complex32',
  'complex64',
  'complex128',
  'cfloat',
  'cdouble',
  'chalf',
  'qint8',
  'quint8',
  'qint32',
  'quint4x2',
  'float8_e4m3fn',
  'float8_e5m2',
  'float8_e4m3fnuz',
  'float8_e5m2fnuz',
  'uint16',
  'uint32',
  'uint64',
]);

export class TorchPickleError extends Error {
  override name = 'TorchPickleError';
}

function callable(qualifiedName: string, call: (args: unknown[]) => unknown): PyCallable {
  return { qualifiedName, call };
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function intList(x: unknown, what: string, fn: string): number[] {
  if (!Array.isArray(x) || !x.every(isInt))
    throw new TorchPickleError(`${fn}: ${what} is not a tuple of non-negative integers`);
  return [...(x as number[])];
}

function isStorage(x: unknown): x is StorageRef {
  return typeof x === 'object' && x !== null && (x as StorageRef).kind === 'storage';
}

function rebuildTensor(
  fn: string,
  storage: unknown,
  offset: unknown,
  size: unknown,
  stride: unknown,
  dtypeArg?: unknown,
): TensorRef {
  if (!isStorage(storage)) throw new TorchPickleError(`${fn}: first argument is ${describe(storage)}, not a storage`);
  if (!isInt(offset)) throw new TorchPickleError(`${fn}: storage offset is not a non-negative integer`);
  const shape = intList(size, 'size', fn);
  const strides = intList(stride, 'stride', fn);
  if (shape.length !== strides.length) throw new TorchPickleError(`${fn}: size and stride have different lengths`);
  let dtype: DType | null;
  if (dtypeArg !== undefined) {
    const d = dtypeArg as TorchDType;
    if (typeof d !== 'object' || d === null || d.kind !== 'dtype')
      throw new TorchPickleError(`${fn}: dtype argument is ${describe(dtypeArg)}`);
    if (!d.dtype) throw new TorchPickleError(`unsupported tensor dtype ${d.qualifiedName}`);
    dtype = d.dtype;
  } else {
    dtype = storage.type.dtype;
    if (!dtype)
      throw new TorchPickleError(`unsupported storage type ${storage.type.qualifiedName} (tensor dtype unknown)`);
  }
  return { kind: 'tensor', storage, dtype, offset, shape, stride: strides };
}

function orderedDict(args: unknown[]): PyDict {
  const d: PyDict = new Map();
  const items = args[0];
  if (items !== undefined && items !== null) {
    if (!Array.isArray(items)) throw new TorchPickleError('collections.OrderedDict: argument is not a list of pairs');
    for (const pair of items) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new TorchPickleError('collections.OrderedDict: item is not a pair');
      d.set(pair[0], pair[1]);
    }
  }
  return d;
}

const GLOBALS: Record<string, unknown> = {
  'collections.OrderedDict': callable('collections.OrderedDict', orderedDict),
  'torch._utils._rebuild_tensor': callable('torch._utils._rebuild_tensor', (a) =>
    rebuildTensor('_rebuild_tensor', a[0], a[1], a[2], a[3]),
  ),
  'torch._utils._rebuild_tensor_v2': callable('torch._utils._rebuild_tensor_v2', (a) =>
    rebuildTensor('_rebuild_tensor_v2', a[0], a[1], a[2], a[3]),
  ),
  'torch._utils._rebuild_tensor_v3': callable('torch._utils._rebuild_tensor_v3', (a) =>
    rebuildTensor('_rebuild_tensor_v3', a[0], a[1], a[2], a[3], a[6]),
  ),
  // A Parameter is its data as far as loading is concerned; requires_grad and hooks are training state.
  'torch._utils._rebuild_parameter': callable('torch._utils._rebuild_parameter', (a) => a[0]),
  'torch._utils._rebuild_parameter_with_state': callable('torch._utils._rebuild_parameter_with_state', (a) => a[0]),
  'torch.Size': callable('torch.Size', (a) => (Array.isArray(a[0]) ? PyTuple.from(a[0]) : new PyTuple())),
};

function resolveGlobal(module: string, name: string): unknown {
  const qualified = `${module}.${name}`;
  const g = GLOBALS[qualified];
  if (g) return g;
  if (module === 'torch' || module === 'torch.storage') {
    if (name in STORAGE_DTYPES)
      return { kind: 'storage-type', qualifiedName: qualified, dtype: STORAGE_DTYPES[name] } satisfies StorageType;
    if (name === 'UntypedStorage' || name === 'TypedStorage' || /^[A-Z]\w*Storage$/.test(name)) {
      // Recognised as a storage class; whether its dtype is usable is decided when a tensor uses it.
      return { kind: 'storage-type', qualifiedName: qualified, dtype: null } satisfies StorageType;
    }
  }
  if (module === 'torch' && (name in TORCH_DTYPES || OTHER_TORCH_DTYPES.has(name))) {
    return { kind: 'dtype', qualifiedName: qualified, dtype: TORCH_DTYPES[name] ?? null } satisfies TorchDType;
  }
  throw new TorchPickleError(
    `refusing to load: the pickle references the global ${qualified}, which a state_dict never needs; ` +
      'only tensors in (Ordered)dicts are allowed, so this file is not a plain state_dict or may be malicious',
  );
}

/**
 * Unpickles `data.pkl` into a state_dict of tensor views. Throws TorchPickleError / UnpickleError
 * (the caller adds the file name).
 */
export async function unpickleStateDict(pkl: Uint8Array, signal?: AbortSignal): Promise<Map<string, TensorRef>> {
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!(pid instanceof PyTuple) || pid.length < 5 || pid[0] !== 'storage') {
      throw new TorchPickleError(
        `unsupported persistent id (${describe(pid)}); expected ('storage', type, key, location, numel)`,
      );
    }
    const [, type, key, , numel] = pid;
    const t = type as StorageType;
    if (typeof t !== 'object' || t === null || t.kind !== 'storage-type') {
      throw new TorchPickleError(`persistent id names ${describe(type)}, not a storage type`);
    }
    if (typeof key !== 'string' || !isInt(numel)) throw new TorchPickleError('malformed storage persistent id');
    const known = storages.get(key);
    if (known) {
      if (known.type.qualifiedName !== t.qualifiedName)
        throw new TorchPickleError(`storage ${key} is used with two types`);
      return known;
    }
    const ref: StorageRef = { kind: 'storage', key, type: t, numel };
    storages.set(key, ref);
    return ref;
  };
  const root = await unpickleAsync(pkl, { resolveGlobal, persistentLoad }, signal);
  if (!(root instanceof Map)) {
    throw new TorchPickleError(`the checkpoint holds a ${describe(root)}, not a state_dict (a dict of tensors)`);
  }
  const out = new Map<string, TensorRef>();
  for (const [k, v] of root) {
    // describe(), not String(): a hostile key (a tuple nested 100,000 deep) must not be walked.
    if (typeof k !== 'string')
      throw new TorchPickleError(`a state_dict key is a ${describe(k)}, not a string: this is not a plain state_dict`);
    if (typeof v !== 'object' || v === null || (v as TensorRef).kind !== 'tensor') {
      throw new TorchPickleError(
        `entry '${k}' is a ${describe(v)}, not a tensor: this is not a plain state_dict; extract the model's state_dict in PyTorch and save that`,
      );
    }
    out.set(k, v as TensorRef);
  }
  return out;
}

export { UnpickleError };
