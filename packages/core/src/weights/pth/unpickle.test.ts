import { describe, expect, it } from 'vitest';
import { PickleWriter } from './test-support.js';
import { PyTuple, UnpickleError, unpickle } from './unpickle.js';

const noGlobals = {
  resolveGlobal: (m: string, n: string): never => {
    throw new UnpickleError(`global ${m}.${n}`);
  },
  persistentLoad: (pid: unknown) => ({ pid }),
};

const run = (p: PickleWriter): unknown => unpickle(p.bytes(), noGlobals);

describe('restricted unpickler', () => {
  it('decodes scalars, strings, containers and memo references (protocol 2)', () => {
    // {'a': [1, -2, 300, 70000, 1.5, None, True, False], 'b': ('x', 'x'), 'c': b'\x01\x02'}
    const p = new PickleWriter().proto(2).emptyDict().raw(0x71, 0).mark();
    p.str('a').raw(0x5d).mark().int(1).raw(0x4a, 0xfe, 0xff, 0xff, 0xff).int(300).int(70000);
    p.raw(0x47, ...new Uint8Array(new Float64Array([1.5]).buffer).reverse(), 0x4e, 0x88, 0x89, 0x65);
    p.str('b').str('x').raw(0x71, 1, 0x68, 1, 0x86);
    p.str('c').raw(0x43, 2, 1, 2);
    p.setitems().stop();
    const v = run(p) as Map<string, unknown>;
    expect(v).toBeInstanceOf(Map);
    expect(v.get('a')).toEqual([1, -2, 300, 70000, 1.5, null, true, false]);
    expect(v.get('b')).toBeInstanceOf(PyTuple);
    expect([...(v.get('b') as PyTuple)]).toEqual(['x', 'x']);
    expect(Array.from(v.get('c') as Uint8Array)).toEqual([1, 2]);
  });

  it('decodes protocol 4/5 forms: FRAME, SHORT_BINUNICODE, MEMOIZE, LONG1/LONG4, BINUNICODE8, TUPLE1/3, LONG_BINPUT/GET, sets', () => {
    const p = new PickleWriter().proto(5).raw(0x95, 60, 0, 0, 0, 0, 0, 0, 0);
    p.raw(0x5d, 0x94).mark(); // [  (memo 0 = the list)
    p.raw(0x8c, 2, 'hi', 0x94); // 'hi' (memo 1)
    p.raw(0x8a, 5, 0, 0, 0, 0, 1); // 2**32
    p.raw(0x8a, 1, 0xff); // -1
    p.raw(0x8a, 0); // 0
    p.raw(0x8b, 9, 0, 0, 0, ...new Array<number>(8).fill(0), 1); // 2**64 → bigint
    p.raw(0x8d, 1, 0, 0, 0, 0, 0, 0, 0, 'z', 0x72, 7, 0, 0, 0); // 'z' (memo 7)
    p.raw(0x6a, 7, 0, 0, 0, 0x85); // ('z',)
    p.raw(0x68, 1, 0x68, 1, 0x6a, 7, 0, 0, 0, 0x87); // ('hi', 'hi', 'z')
    p.raw(0x8f).mark().int(1).int(2).raw(0x90); // {1, 2}
    p.raw(0x65).stop(); // ]
    const v = run(p) as unknown[];
    expect(v.slice(0, 6)).toEqual(['hi', 2 ** 32, -1, 0, 2n ** 64n, 'z']);
    expect([...(v[6] as PyTuple)]).toEqual(['z']);
    expect(v[7]).toBeInstanceOf(PyTuple);
    expect([...(v[7] as PyTuple)]).toEqual(['hi', 'hi', 'z']);
    expect(v[8]).toEqual(new Set([1, 2]));
    expect(v.length).toBe(9);
  });

  it('rejects unknown opcodes, bad memo keys, stack underflow and missing STOP', () => {
    expect(() => run(new PickleWriter().proto(2).raw(0xff))).toThrow(/unsupported pickle opcode 0xff/);
    expect(() => run(new PickleWriter().proto(2).raw(0x68, 3).stop())).toThrow(/memo key 3 missing/);
    expect(() => run(new PickleWriter().proto(2).raw(0x86).stop())).toThrow(/stack underflow/);
    expect(() => run(new PickleWriter().proto(2).int(1))).toThrow(/ends unexpectedly/);
    expect(() => run(new PickleWriter().proto(6))).toThrow(/unsupported pickle protocol 6/);
    expect(() => run(new PickleWriter().proto(2).int(1).emptyTuple().reduce().stop())).toThrow(
      /not an allowed callable/,
    );
    expect(() => run(new PickleWriter().proto(2).global('os', 'system'))).toThrow(/global os\.system/);
    expect(() => run(new PickleWriter().proto(2).raw(0x5d).emptyDict().raw(0x62).stop())).toThrow(
      /BUILD on an unsupported object \(list\)/,
    );
  });

  it('passes persistent ids to the hook and only calls stand-ins', () => {
    const calls: unknown[][] = [];
    const hooks = {
      resolveGlobal: (m: string, n: string) => ({
        qualifiedName: `${m}.${n}`,
        call: (a: unknown[]) => (calls.push(a), 'made'),
      }),
      persistentLoad: (pid: unknown) => ({ loaded: pid }),
    };
    const p = new PickleWriter().proto(2).global('m', 'f').mark().str('k').raw(0x85).persid().tuple().reduce().stop();
    const v = unpickle(p.bytes(), hooks);
    expect(v).toBe('made');
    expect(calls.length).toBe(1);
    expect(calls[0][0]).toEqual({ loaded: PyTuple.from(['k']) });
  });
});
