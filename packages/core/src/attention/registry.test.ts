import { describe, expect, it } from 'vitest';
import { createRegisteredBackend } from './registry.js';
import { createRegistry, getDefaultEngineRegistry, getDefaultRegistry, registerPlug } from '../plugs/registry.js';
import { jsEngine } from '../engines/js.js';
import { fakeBackend } from './test-doubles.js';

describe('registry', () => {
  it('lists and gets registered backends', () => {
    const r = createRegistry();
    r.register(fakeBackend('a'));
    r.register(fakeBackend('b'));
    expect(r.list().map((b) => b.id)).toEqual(['a', 'b']);
    expect(r.get('b')?.package).toBe('@test/b');
    expect(r.get('c')).toBeUndefined();
  });

  it('treats registering the same descriptor (or same package and version) twice as a no-op', () => {
    const r = createRegistry();
    const a = fakeBackend('a');
    r.register(a);
    r.register(a);
    r.register(fakeBackend('a'));
    expect(r.list()).toHaveLength(1);
  });

  it('rejects a different descriptor under a taken id, naming both packages', () => {
    const r = createRegistry();
    r.register(fakeBackend('a'));
    expect(() => r.register(fakeBackend('a', { package: '@other/a' }))).toThrow(/@test\/a@1\.0\.0.*@other\/a@1\.0\.0/);
  });

  it('rejects descriptors of another API version with the fix', () => {
    expect(() => createRegistry().register(fakeBackend('a', { apiVersion: 99 }))).toThrow(
      /API v99.*install matching versions/,
    );
  });

  it('resolves the first available backend and aggregates every failure otherwise', async () => {
    const r = createRegistry();
    r.register(fakeBackend('down', { probe: async () => ({ available: false, reason: 'no adapter' }) }));
    r.register(
      fakeBackend('broken', {
        probe: async () => {
          throw new Error('boom');
        },
      }),
    );
    r.register(fakeBackend('up'));
    const got = await r.resolve(['missing', 'down', 'broken', 'up']);
    expect(got.descriptor.id).toBe('up');
    expect(got.instance.backendId).toBe('up');
    const err = await r.resolve(['missing', 'down', 'broken']).catch((e) => e);
    expect(err.code).toBe('E_BACKEND_UNAVAILABLE');
    expect(err.message).toMatch(/missing: not installed \(install @nextscale\/backend-missing/);
    expect(err.message).toMatch(/down: no adapter/);
    expect(err.message).toMatch(/broken: probe\(\) threw: boom/);
    expect(err.failures.map((f: { id: string }) => f.id)).toEqual(['missing', 'down', 'broken']);
  });

  it('keeps the default registry on a global symbol shared by every copy of core', () => {
    expect(getDefaultRegistry()).toBe(getDefaultRegistry());
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('@nextscale/core/default-registry')]).toBe(
      getDefaultRegistry(),
    );
  });
});

describe('createRegisteredBackend', () => {
  it('creates the backend registered under an id in the default registry, or says how to register it', async () => {
    await expect(createRegisteredBackend('baseline-test')).rejects.toThrow(
      /no 'baseline-test' attention backend is registered .* node --import @nextscale\/backend-baseline-test\/register/,
    );
    getDefaultRegistry().register(fakeBackend('baseline-test'));
    try {
      expect((await createRegisteredBackend('baseline-test')).backendId).toBe('baseline-test');
    } finally {
      getDefaultRegistry().unregister('baseline-test');
    }
  });

  it('registerPlug (what every /register entry calls) puts each kind into its own default registry', () => {
    const b = fakeBackend('register-plug-test');
    const e = { ...jsEngine, id: 'register-plug-test', package: '@test/engine' };
    try {
      registerPlug(b);
      registerPlug(e);
      expect(getDefaultRegistry().get('register-plug-test')).toBe(b);
      expect(getDefaultEngineRegistry().get('register-plug-test')).toBe(e);
      expect(() => registerPlug({ ...b, id: 'no-kind', kind: undefined } as never)).toThrow(
        /a descriptor without a kind, not a dense engine/,
      );
    } finally {
      getDefaultRegistry().unregister('register-plug-test');
      getDefaultEngineRegistry().unregister('register-plug-test');
    }
  });
});
