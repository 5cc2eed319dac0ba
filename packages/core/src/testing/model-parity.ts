/**
 * The model-parity suite (exported from `@nextscale/core/testing`) — every fixture case that checks the VAR and VQ-VAE
 * code against PyTorch's reference tensors on the var-tiny fixture (teacher forcing, greedy next-scale generation
 * with exact tokens, zero-shot editing, the VQ-VAE's encode and decode, atol 1e-4) — run on a dense engine. Core
 * runs it on its TypeScript reference; every dense engine package runs it on itself, as every attention backend runs
 * testAttentionBackend. Node only (it reads the fixture files); call it once per test file.
 */
import { afterAll, describe, expect } from 'vitest';
import type { DenseEngine } from '../engines/contract.js';
import { getDenseEngine, setDenseEngine } from '../engines/active.js';

export interface ModelParityOptions {
  /** Names the engine in the suite's title. */
  name: string;
  /** Creates the engine to run on (absent: whatever engine is active, core's TypeScript reference by default). */
  engine?: () => Promise<DenseEngine>;
  /**
   * Called after every case with the engine, to show that the work went through it (e.g. ONNX sessions were
   * created), so that a silently inactive engine cannot pass.
   */
  check?: (engine: DenseEngine) => void | Promise<void>;
}

export function testModelParity(options: ModelParityOptions): void {
  describe(`model parity on the var-tiny fixture: ${options.name}`, async () => {
    if (options.engine) {
      const previous = getDenseEngine();
      // active before the cases are collected: they start their runs while they are collected
      const engine = await options.engine();
      setDenseEngine(engine);
      afterAll(async () => {
        expect(getDenseEngine()?.id, `the ${engine.id} engine stayed active`).toBe(engine.id);
        await options.check?.(engine);
        setDenseEngine(previous);
        await engine.dispose?.();
      });
    }
    // each case file registers its describe/it blocks into this suite as it is imported
    await import('./parity/teacher-forcing.js');
    await import('./parity/autoregressive.js');
    await import('./parity/edit.js');
    await import('./parity/vqvae.js');
  });
}
