/**
 * A restricted unpickler. Python's pickle is a small stack machine whose only dangerous powers are
 * looking up globals and calling them; here every global goes through `resolveGlobal` (which knows
 * just what a state_dict needs) and calls go only to the JS stand-ins it returns, so a hostile
 * checkpoint can at worst fail to load. Opcodes that instantiate arbitrary classes are refused.
 */

/** Something REDUCE may call: a JS stand-in for an allowed Python callable. */
export interface PyCallable {
  readonly qualifiedName: string;
  call(args: unknown[]): unknown;
}

export interface UnpickleHooks {
  /** Returns the stand-in for `module.name`, or throws if it is not allowed. */
  resolveGlobal(module: string, name: string): unknown;
  /** Resolves a BINPERSID id (torch: storages). */
  persistentLoad(pid: unknown): unknown;
}

/** Raised for malformed or disallowed pickles; the caller adds the file name. */
export class UnpickleError extends Error {
  override name = 'UnpickleError';
}

/** Python dicts (plain and OrderedDict). Insertion-ordered, like Python's. */
export type PyDict = Map<unknown, unknown>;

export class PyTuple extends Array<unknown> {}

const DEPTH = Symbol('nesting depth');
type Depthed = { [DEPTH]?: number };

/**
 * Limits no state_dict comes near, so that a hostile pickle fails with a message instead of running
 * out of stack, memory or time. Parsing is a loop over opcodes (no recursion), and nothing after it
 * walks a structure recursively, so depth only needs a bound for the error to be clear.
 */
export const UNPICKLE_LIMITS = Object.freeze({
  /** Nesting of containers (a state_dict has about 4: dict → args tuple → size tuple → int). */
  maxDepth: 100,
  /** Open MARKs at once. */
  maxMarks: 100,
  /** Bytes of one LONG1/LONG4 integer (Python ints beyond 64 bits have no place in a state_dict, and
   * converting a huge one costs time quadratic in its size). */
  maxLongBytes: 16,
});

/** Opcodes run between two yields to the event loop in `unpickleAsync`. */
const OPS_PER_SLICE = 1 << 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

const OPCODE_NAMES: Record<number, string> = {
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
};

/** Unpickles in one synchronous run (small pickles, tests). */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks): unknown {
  return unpickler(bytes, hooks)(Infinity)!.value;
}

/**
 * The same, yielding to the event loop every few ten thousand opcodes so that a big or hostile
 * pickle never blocks the process: signal handlers and timers run, and an aborted `signal` stops it.
 */
export async function unpickleAsync(bytes: Uint8Array, hooks: UnpickleHooks, signal?: AbortSignal): Promise<unknown> {
  const step = unpickler(bytes, hooks);
  for (;;) {
    const done = step(OPS_PER_SLICE);
    if (done) return done.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new UnpickleAbort();
  }
}

/** Thrown by `unpickleAsync` when its signal aborts without a reason of its own. */
export class UnpickleAbort extends Error {
  override name = 'AbortError';
  constructor() {
    super('unpickling was aborted');
  }
}

/** A resumable unpickler: each call runs up to `budget` opcodes and returns the value at STOP. */
function unpickler(bytes: Uint8Array, hooks: UnpickleHooks): (budget: number) => { value: unknown } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new UnpickleError(`${msg} (at byte ${pos})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > bytes.length) fail('pickle data ends unexpectedly');
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length out of range');
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('pickle data ends unexpectedly inside a GLOBAL');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (n: number): string => {
    try {
      return utf8.decode(take(n));
    } catch (err) {
      if (err instanceof UnpickleError) throw err;
      return fail('invalid UTF-8 in a string');
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  // Depth of each container built here (leaves are 0), to refuse absurd nesting by a clear message.
  // Kept in a symbol-keyed property rather than a WeakMap: a hostile pickle builds millions of
  // throw-away containers, and a huge WeakMap makes the garbage collector pause for a second or more.
  const depthOf = (x: unknown): number => (typeof x === 'object' && x !== null ? ((x as Depthed)[DEPTH] ?? 0) : 0);
  const container = <T extends object>(c: T, items: Iterable<unknown>): T => {
    let d = 0;
    for (const x of items) {
      const dx = depthOf(x);
      if (dx > d) d = dx;
    }
    if (d + 1 > UNPICKLE_LIMITS.maxDepth)
      fail(
        `containers nested more than ${UNPICKLE_LIMITS.maxDepth} deep; a state_dict never nests like that, so the file is corrupt or hostile`,
      );
    // Non-enumerable, so the containers compare and iterate as plain ones.
    if (d + 1 > depthOf(c))
      Object.defineProperty(c, DEPTH, { value: d + 1, writable: true, configurable: true, enumerable: false });
    return c;
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('MARK missing');
    stack = prev!;
    return items;
  };
  const asDict = (x: unknown, op: string): PyDict => {
    if (!(x instanceof Map)) fail(`${op} on a non-dict`);
    return x as PyDict;
  };
  const asList = (x: unknown, op: string): unknown[] => {
    if (!Array.isArray(x) || x instanceof PyTuple) fail(`${op} on a non-list`);
    return x as unknown[];
  };
  const tuple = (items: unknown[]): PyTuple => {
    const t = new PyTuple();
    for (const x of items) t.push(x);
    return container(t, items);
  };
  const getMemo = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} missing`);
    return memo.get(i);
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    if (b.length > UNPICKLE_LIMITS.maxLongBytes)
      fail(`integer of ${b.length} bytes (a state_dict's integers fit in 8)`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  return (budget: number) => {
    for (let done = 0; done < budget; done++) {
      const op = u8();
      switch (op) {
        case 0x80: {
          const proto = u8();
          if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
          break;
        }
        case 0x95: // FRAME: framing is only a read-ahead hint; the data is already contiguous
          u64();
          break;
        case 0x2e: // STOP
          if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
          return { value: stack[0] };
        case 0x28: // MARK
          if (metastack.length >= UNPICKLE_LIMITS.maxMarks)
            fail(`more than ${UNPICKLE_LIMITS.maxMarks} nested MARKs; the file is corrupt or hostile`);
          metastack.push(stack);
          stack = [];
          break;
        case 0x7d: // EMPTY_DICT
          stack.push(new Map());
          break;
        case 0x29: // EMPTY_TUPLE
          stack.push(new PyTuple());
          break;
        case 0x5d: // EMPTY_LIST
          stack.push([]);
          break;
        case 0x8f: // EMPTY_SET
          stack.push(new Set());
          break;
        case 0x4e: // NONE
          stack.push(null);
          break;
        case 0x88: // NEWTRUE
          stack.push(true);
          break;
        case 0x89: // NEWFALSE
          stack.push(false);
          break;
        case 0x4a: // BININT
          stack.push(i32());
          break;
        case 0x4b: // BININT1
          stack.push(u8());
          break;
        case 0x4d: // BININT2
          stack.push(u16());
          break;
        case 0x8a: // LONG1
          stack.push(signedLE(take(u8())));
          break;
        case 0x8b: {
          // LONG4
          const n = i32();
          if (n < 0) fail('negative LONG4 length');
          if (n > UNPICKLE_LIMITS.maxLongBytes) fail(`integer of ${n} bytes (a state_dict's integers fit in 8)`);
          stack.push(signedLE(take(n)));
          break;
        }
        case 0x47: {
          // BINFLOAT: big-endian, unlike everything else
          need(8);
          stack.push(view.getFloat64(pos, false));
          pos += 8;
          break;
        }
        case 0x58: // BINUNICODE
          stack.push(str(u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          stack.push(str(u8()));
          break;
        case 0x8d: // BINUNICODE8
          stack.push(str(u64()));
          break;
        case 0x54: // BINSTRING (Python 2 str)
          stack.push(latin1.decode(take(i32())));
          break;
        case 0x55: // SHORT_BINSTRING
          stack.push(latin1.decode(take(u8())));
          break;
        case 0x42: // BINBYTES
          stack.push(take(u32()).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          stack.push(take(u8()).slice());
          break;
        case 0x8e: // BINBYTES8
          stack.push(take(u64()).slice());
          break;
        case 0x71: // BINPUT
          memo.set(u8(), top());
          break;
        case 0x72: // LONG_BINPUT
          memo.set(u32(), top());
          break;
        case 0x94: // MEMOIZE
          memo.set(memo.size, top());
          break;
        case 0x68: // BINGET
          stack.push(getMemo(u8()));
          break;
        case 0x6a: // LONG_BINGET
          stack.push(getMemo(u32()));
          break;
        case 0x30: // POP
          if (stack.length === 0) popMark();
          else pop();
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x32: // DUP
          stack.push(top());
          break;
        case 0x63: {
          // GLOBAL
          const module = line();
          const name = line();
          stack.push(hooks.resolveGlobal(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
          stack.push(hooks.resolveGlobal(module as string, name as string));
          break;
        }
        case 0x74: {
          // TUPLE (popMark swaps `stack`, so it must run before `stack.push` is looked up)
          const items = popMark();
          stack.push(tuple(items));
          break;
        }
        case 0x85: // TUPLE1
          stack.push(tuple([pop()]));
          break;
        case 0x86: {
          // TUPLE2
          const b = pop();
          const a = pop();
          stack.push(tuple([a, b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = pop();
          const b = pop();
          const a = pop();
          stack.push(tuple([a, b, c]));
          break;
        }
        case 0x6c: {
          // LIST
          const items = popMark();
          stack.push(container(items, items));
          break;
        }
        case 0x64: {
          // DICT
          const items = popMark();
          if (items.length % 2) fail('DICT with an odd number of items');
          const d: PyDict = new Map();
          for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
          stack.push(container(d, items));
          break;
        }
        case 0x61: {
          // APPEND
          const v = pop();
          container(asList(top(), 'APPEND'), [v]).push(v);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = popMark();
          // One push per item: spreading a million items into push() overflows the call stack.
          const list = container(asList(top(), 'APPENDS'), items);
          for (const x of items) list.push(x);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = pop();
          const k = pop();
          container(asDict(top(), 'SETITEM'), [k, v]).set(k, v);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = popMark();
          if (items.length % 2) fail('SETITEMS with an odd number of items');
          const d = container(asDict(top(), 'SETITEMS'), items);
          for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = popMark();
          const s = top();
          if (!(s instanceof Set)) fail('ADDITEMS on a non-set');
          container(s as Set<unknown>, items);
          for (const x of items) (s as Set<unknown>).add(x);
          break;
        }
        case 0x91: {
          // FROZENSET
          const items = popMark();
          stack.push(container(new Set(items), items));
          break;
        }
        case 0x51: // BINPERSID
          stack.push(hooks.persistentLoad(pop()));
          break;
        case 0x52: {
          // REDUCE
          const args = pop();
          const fn = pop();
          if (!isCallable(fn)) fail(`REDUCE on a value that is not an allowed callable (${describe(fn)})`);
          if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
          stack.push((fn as PyCallable).call([...(args as PyTuple)]));
          break;
        }
        case 0x62: {
          // BUILD: the only BUILD a state_dict has sets OrderedDict._metadata (module versions),
          // which loading tensors does not need, so state on dicts is dropped.
          const state = pop();
          void state;
          const target = top();
          if (!(target instanceof Map)) fail(`BUILD on an unsupported object (${describe(target)})`);
          break;
        }
        default: {
          const known = OPCODE_NAMES[op];
          fail(
            known
              ? `opcode ${known} is not allowed: it builds arbitrary objects, which a state_dict never contains`
              : `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`,
          );
        }
      }
    }
    return undefined;
  };
}

function isCallable(x: unknown): x is PyCallable {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as PyCallable).call === 'function' &&
    typeof (x as PyCallable).qualifiedName === 'string'
  );
}

export function describe(x: unknown): string {
  if (x === null) return 'None';
  if (x instanceof PyTuple) return 'tuple';
  if (Array.isArray(x)) return 'list';
  if (x instanceof Map) return 'dict';
  if (x instanceof Uint8Array) return 'bytes';
  if (typeof x === 'object' && typeof (x as { qualifiedName?: unknown }).qualifiedName === 'string') {
    return (x as { qualifiedName: string }).qualifiedName;
  }
  return typeof x === 'string' ? 'str' : typeof x;
}
