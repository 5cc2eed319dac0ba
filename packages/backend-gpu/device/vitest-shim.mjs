// Stands in for 'vitest' in the bundled device check (pack.mjs aliases it), so the shared conformance
// suite of @nextscale/core/testing runs unchanged under plain Node: describe/it register the cases,
// runRegistered() runs them in order. `expect` is vitest's own, built as vitest builds it.
import * as chai from 'chai';
import { JestAsymmetricMatchers, JestChaiExpect, JestExtend, getState, setState } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

export const expect = (value, message) => {
  setState({ assertionCalls: getState(expect).assertionCalls + 1 }, expect);
  return chai.expect(value, message);
};
Object.assign(expect, chai.expect);
setState(
  {
    assertionCalls: 0,
    isExpectingAssertions: false,
    isExpectingAssertionsError: null,
    expectedAssertionsNumber: null,
    expectedAssertionsNumberErrorGen: null,
  },
  expect,
);

const registered = [];
const prefix = [];

export function describe(name, body) {
  prefix.push(name);
  try {
    body();
  } finally {
    prefix.pop();
  }
}

export function it(name, fn) {
  registered.push({ name: [...prefix, name].join(' > '), fn });
}
export const test = it;

// @nextscale/core/testing also holds suites with hooks (the model-parity suite's); the device check runs none of
// them, but the bundle imports them: beforeAll hooks run before the registered cases, afterAll hooks after them.
const beforeAllHooks = [];
const afterAllHooks = [];
export function beforeAll(fn) {
  beforeAllHooks.push(fn);
}
export function afterAll(fn) {
  afterAllHooks.push(fn);
}

/** Runs (and forgets) every case registered so far; each either passes or fails with its message. */
export async function runRegistered({ timeoutMs = 120_000, onResult = () => {} } = {}) {
  const results = [];
  for (const hook of beforeAllHooks.splice(0)) await hook();
  for (const { name, fn } of registered.splice(0)) {
    const t0 = performance.now();
    let error;
    let timer;
    try {
      const timeout = new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)),
      );
      await Promise.race([fn(), timeout]);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
    const result = { name, ok: error === undefined, ms: performance.now() - t0, ...(error !== undefined && { error }) };
    onResult(result);
    results.push(result);
  }
  for (const hook of afterAllHooks.splice(0)) await hook();
  return results;
}
