/** Core's shared dense-engine suite against this engine, plus the descriptor's registration. */
import { describe, expect, it } from 'vitest';
import { getDefaultEngineRegistry } from '@nextscale/core';
import { testDenseEngine } from '@nextscale/core/testing';
import { engine } from './register.js';

// releaseWeights off: the suite reads each weight again for its reference and pins one weight under several graphs
// (bias null and non-null); the default (weights released) is checked by core's model-parity suite (model-parity.test.ts) and
// ops.test.ts
testDenseEngine(() => engine.create({ threads: 2, releaseWeights: false }), { label: 'onnx, 2 threads' });
testDenseEngine(() => engine.create({ threads: 1, releaseWeights: false }), { label: 'onnx, 1 thread' });

describe('engine-onnx registration', () => {
  it('registers as "onnx" with priority 20 in the default engine registry', () => {
    const d = getDefaultEngineRegistry().get('onnx');
    expect(d).toBe(engine);
    expect(d?.priority).toBe(20);
    expect(d?.package).toBe('@nextscale/engine-onnx');
  });
});
