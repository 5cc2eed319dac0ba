import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engine as descriptor, loadOrt } from './descriptor.js';
import { OnnxDenseEngine } from './engine.js';
import { OrtBridge } from './bridge.js';
import { encodeModel, FLOAT } from './onnx-proto.js';

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
    writeFileSync(broken, "throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory\\n    at Module._extensions');\n");
    const r = await loadOrt(broken);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/native addon failed to load \(libonnxruntime\.so\.1: cannot open shared object file/);
    expect(r.reason).toMatch(/reinstall it: `pnpm install` \(or `npm install --ignore-scripts/);
    expect(r.reason).not.toMatch(/\n/);
  });

  it('reports an op ONNX Runtime cannot run as one line naming it (no fallback)', async () => {
    const bridge = await OrtBridge.start({ threads: 1 });
    try {
      const bytes = encodeModel({
        name: 'bad',
        nodes: [{ opType: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }],
        inputs: [{ name: 'x', elemType: FLOAT, dims: ['n'] }],
        outputs: [{ name: 'y', elemType: FLOAT, dims: ['n'] }],
        initializers: [],
      });
      let message = '';
      try {
        bridge.createSession(bytes, 'a test graph');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^engine-onnx: ONNX Runtime failed creating the ONNX session for a test graph: .*NoSuchOp/);
      expect(message).not.toMatch(/\n/);
    } finally {
      await bridge.dispose();
    }
  });

  it('rejects bad thread counts and refuses calls after dispose', async () => {
    await expect(descriptor.create({ threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
    const e = await OnnxDenseEngine.create({ threads: 1 });
    await e.dispose();
    expect(() => e.layerNormRows(Float32Array.of(1, 2), new Float32Array(2), 1, 2, 1e-6)).toThrow(/disposed/);
  });
});
