import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engine as descriptor, loadOrt } from './descriptor.js';
import { siluGraph } from './graphs.js';
import { createOnnxEngine } from './node.js';
import { encodeModel, FLOAT } from './onnx-proto.js';
import { OrtSessions } from './sessions.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('engine-onnx errors', () => {
  it('probes available with the runtime version when onnxruntime-node loads', async () => {
    const p = await descriptor.probe();
    expect(p.available).toBe(true);
    expect(p.reason).toMatch(/onnxruntime-node 1\.30\.0/);
  });

  it('reports a broken native addon as unavailable, with the reason and the fix, in one line', async () => {
    const broken = join(dir, 'broken-ort.cjs');
    writeFileSync(
      broken,
      "throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory\\n    at Module._extensions');\n",
    );
    const r = await loadOrt(broken);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/native addon failed to load \(libonnxruntime\.so\.1: cannot open shared object file/);
    expect(r.reason).toMatch(/reinstall it: `pnpm install` \(or `npm install --ignore-scripts/);
    expect(r.reason).not.toMatch(/\n/);
  });

  it('reports an op ONNX Runtime cannot run as one line naming it (no fallback)', async () => {
    const r = await loadOrt();
    if (!r.ok) throw new Error(r.reason);
    const sessions = new OrtSessions(
      r.ort,
      { executionProviders: ['cpu'], cpu: { threads: 1, memArena: false, spinning: false, prepack: true } },
      'test',
    );
    try {
      const bytes = encodeModel({
        name: 'bad',
        nodes: [{ opType: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }],
        inputs: [{ name: 'x', elemType: FLOAT, dims: ['n'] }],
        outputs: [{ name: 'y', elemType: FLOAT, dims: ['n'] }],
        initializers: [],
      });
      const message = await sessions.create(bytes, 'a test graph').then(
        () => '',
        (e: Error) => e.message,
      );
      expect(message).toMatch(
        /^engine-onnx: ONNX Runtime failed creating the ONNX session for a test graph: .*NoSuchOp/,
      );
      expect(message).not.toMatch(/\n/);
      // a run ONNX Runtime refuses (here: an input of the wrong rank) is the caller's rejection, with the op's label
      const silu = siluGraph();
      const s = await sessions.create(silu.bytes, silu.label);
      const run = sessions.run(
        s,
        [{ name: 'x', data: new Float32Array(4), dims: [2, 2] }],
        [4],
        new Float32Array(4),
        0,
        'silu 2×2',
      );
      await expect(run).rejects.toThrow(/^engine-onnx: ONNX Runtime failed silu 2×2: /);
    } finally {
      await sessions.dispose();
    }
  });

  it('rejects bad thread counts and refuses calls after dispose', async () => {
    await expect(descriptor.create({ threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
    const e = await createOnnxEngine({ threads: 1 });
    await e.dispose();
    await expect(e.layerNormRows(Float32Array.of(1, 2), new Float32Array(2), 1, 2, 1e-6)).rejects.toThrow(/disposed/);
  });
});
