/**
 * Weights handed to ONNX Runtime beside the protobuf (onnx-proto.ts encodeModelExternal, used by the fused blocks): the
 * session must compute with its own copy of the values, because the engine detaches the model's arrays once a session
 * holds them (releaseWeights).
 */
import { describe, expect, it } from 'vitest';
import { FLOAT, encodeModelExternal, type GraphSpec } from './onnx-proto.js';
import { feedForwardGraph, linearGraph, transposed, type GraphModel } from './graphs.js';
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

describe("linear graphs with the weight as core holds it ('as-is': FusedMatMul transB = 1, external data)", async () => {
  const r = await loadOrt();
  if (!r.ok) throw new Error(r.reason);
  const ort = r.ort as never as typeof import('onnxruntime-node');
  const settings = {
    executionProviders: ['cpu'],
    cpu: { threads: 2, memArena: false, spinning: false, prepack: true },
  };
  // sizes past MLAS's packing panels, a bias and none; values with long mantissas so a different order would show
  const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 0.37);
  /** Runs a (rows, inF) → y graph once in its own session (with its external data) and copies y out. */
  const runRows = async (g: GraphModel, x: Float32Array, rows: number, inF: number) => {
    const s = await ort.InferenceSession.create(
      g.bytes,
      sessionOptions(settings, { optimization: 'basic', externalData: g.externalData }) as never,
    );
    const y = Float32Array.from(
      (await s.run({ x: new ort.Tensor('float32', x, [rows, inF]) })).y!.data as Float32Array,
    );
    await s.release();
    return y;
  };
  for (const [rows, inF, outF, withBias] of [
    [2, 300, 520, true],
    [67, 129, 260, false],
  ] as const) {
    it(`${rows} × ${inF} → ${outF}${withBias ? ' + bias' : ''}: bit-identical to MatMul on the transposed copy`, async () => {
      const w = wave(outF * inF, 0.731);
      const bias = withBias ? wave(outF, 1.3) : null;
      const x = wave(rows * inF, 0.113);
      const outputs = [];
      for (const form of ['transposed', 'as-is'] as const) {
        const g = linearGraph(w, outF, inF, bias, form);
        expect(g.externalData?.length ?? 0).toBe(form === 'as-is' ? 1 : 0);
        outputs.push(await runRows(g, x, rows, inF));
      }
      expect(outputs[1]).toEqual(outputs[0]);
      // and both are x·Wᵀ (+ b) to float32 rounding
      const r0 = Array.from({ length: outF }, (_, o) => {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < inF; i++) s += x[i] * w[o * inF + i];
        return s;
      });
      for (let o = 0; o < outF; o++) expect(Math.abs(outputs[1][o] - r0[o])).toBeLessThan(1e-4);
    });
  }

  it('the feed-forward graph (fc1, GELU, fc2 with biases): bit-identical in both forms', async () => {
    const [rows, inF, hidden] = [5, 96, 384];
    const [fc1, b1, fc2, b2] = [wave(hidden * inF, 0.31), wave(hidden, 0.9), wave(inF * hidden, 0.53), wave(inF, 1.7)];
    const x = wave(rows * inF, 0.29);
    const outputs = [];
    for (const form of ['transposed', 'as-is'] as const) {
      const g = feedForwardGraph(fc1, b1, hidden, inF, fc2, b2, form);
      outputs.push(await runRows(g, x, rows, inF));
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[0].some((v) => v !== 0)).toBe(true);
  });
});
