/** Core's shared dense-engine suite against this engine, plus the descriptor's registration. */
import { describe, expect, it } from 'vitest';
import { getDefaultEngineRegistry } from '@nextscale/core';
import { testDenseEngine } from '@nextscale/core/testing';
import { engine } from './register.js';

testDenseEngine(() => engine.create({ threads: 2 }), { label: 'onnx, 2 threads' });
testDenseEngine(() => engine.create({ threads: 1 }), { label: 'onnx, 1 thread' });

describe('engine-onnx registration', () => {
  it('registers as "onnx" with priority 20 in the default engine registry', () => {
    const d = getDefaultEngineRegistry().get('onnx');
    expect(d).toBe(engine);
    expect(d?.priority).toBe(20);
    expect(d?.packageName).toBe('@nextscale/engine-onnx');
  });
});
