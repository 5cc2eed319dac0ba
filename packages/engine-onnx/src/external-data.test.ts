/**
 * Weights handed to ONNX Runtime beside the protobuf (onnx-proto.ts encodeModelExternal, used by the fused blocks): the
 * session must compute with its own copy of the values, because the engine detaches the model's arrays once a session
 * holds them (releaseWeights).
 */
import { describe, expect, it } from 'vitest';
import { FLOAT, encodeModelExternal, type GraphSpec } from './onnx-proto.js';
import { transposed } from './graphs.js';
import { loadOrt } from './node.js';
import { sessionOptions } from './session-options.js';

const OUT = 5;
const IN = 3;
/** y = x·Wt for Wt (IN × OUT), the transpose of W (OUT × IN) as core holds it. */
function spec(wt: Float32Array): GraphSpec {
  return {
    name: 'linear',
    nodes: [{ opType: 'MatMul', inputs: ['x', 'Wt'], outputs: ['y'] }],
    inputs: [{ name: 'x', elemType: FLOAT, dims: ['rows', IN] }],
    outputs: [{ name: 'y', elemType: FLOAT, dims: ['rows', OUT] }],
    initializers: [{ name: 'Wt', dataType: FLOAT, dims: [IN, OUT], data: wt }],
  };
}

const weight = () => Float32Array.from({ length: OUT * IN }, (_, i) => (i % 7) - 3 + i / 8);
const x = Float32Array.of(0.5, -2, 1.25, 3, 0.75, -1);
/** x·Wᵀ in float64, rounded to float32 at the end (exact here: small sums of short binary fractions). */
function expected(w: Float32Array): Float32Array {
  const y = new Float32Array(2 * OUT);
  for (let r = 0; r < 2; r++)
    for (let o = 0; o < OUT; o++) {
      let s = 0;
      for (let i = 0; i < IN; i++) s += x[r * IN + i] * w[o * IN + i];
      y[r * OUT + o] = s;
    }
  return y;
}

describe('weights handed over as external data, not copied into the protobuf', async () => {
  const r = await loadOrt();
  if (!r.ok) throw new Error(r.reason);
  const ort = r.ort as never as typeof import('onnxruntime-node');
  const settings = {
    executionProviders: ['cpu'],
    cpu: { threads: 1, memArena: false, spinning: false, prepack: true },
  };
  const run = async (s: import('onnxruntime-node').InferenceSession) =>
    Float32Array.from((await s.run({ x: new ort.Tensor('float32', x, [2, IN]) })).y!.data as Float32Array);

  for (const prepack of [true, false]) {
    it(`external data: the session keeps its own copy (detached array afterwards, prepacking ${prepack ? 'on' : 'off'})`, async () => {
      const w = transposed(weight(), OUT, IN);
      const want = expected(weight());
      const { bytes, externalData } = encodeModelExternal(spec(w), 0);
      expect(externalData).toHaveLength(1);
      expect(bytes.byteLength).toBeLessThan(w.byteLength + 200); // the values are not in the protobuf
      const s = await ort.InferenceSession.create(
        bytes,
        sessionOptions(
          { ...settings, cpu: { ...settings.cpu, prepack } },
          { optimization: 'basic', externalData },
        ) as never,
      );
      expect(await run(s)).toEqual(want);
      w.fill(Number.NaN);
      structuredClone(w.buffer, { transfer: [w.buffer] });
      expect(w.length).toBe(0);
      expect(await run(s)).toEqual(want);
      await s.release();
    });
  }
});
