/**
 * Setup for core's parity test files run with this engine: activates it in the very module instance core's tests
 * use (core's source, imported by relative path like theirs), and checks afterwards that the dense work really went
 * through ONNX Runtime (sessions were created), so a silently inactive engine cannot pass.
 */
import { afterAll, expect } from 'vitest';
import { getDenseEngine, setDenseEngine } from '../../core/src/engines/index.js';
import { createOnnxEngine } from './node.js';

// at the top level, not in beforeAll: core's parity files start their generations while they are collected
const engine = await createOnnxEngine({ threads: 2 });
setDenseEngine(engine);

afterAll(async () => {
  expect(getDenseEngine()?.id, 'the onnx engine stayed active').toBe('onnx');
  expect(engine.sessions, 'ONNX sessions created by the parity run').toBeGreaterThan(0);
  setDenseEngine(null);
  await engine.dispose();
});
