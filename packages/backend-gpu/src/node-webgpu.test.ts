/**
 * The shared conformance suite against gpu.js's WebGPU (WGSL) kernels in Node, through Dawn's Node
 * binding (the `webgpu` package). There is no GPU here: Dawn runs on Mesa's OpenGL ES driver (llvmpipe,
 * a software adapter, installed with Chromium in CI), so the mode is asked for by name. On a machine with
 * a GPU the same kernels run on its Vulkan adapter (device/run.sh).
 */
import { testAttentionBackend } from '@nextscale/core/testing';
import { createRegistry, explicitPolicy, loadVAR, Tensor } from '@nextscale/core';
import { loadStateDict } from '@nextscale/core/weights';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backend, chooseMode, createGpuAttention } from './index.js';

// Read on the first WebGPU lookup (Dawn's create() and Mesa's eglGetDisplay), which comes after this.
process.env.NEXTSCALE_DAWN_FLAGS = 'backend=opengles';
process.env.NEXTSCALE_WEBGPU_FEATURE_LEVEL = 'compatibility';
process.env.EGL_PLATFORM = 'surfaceless';

testAttentionBackend(
  { ...backend, create: () => createGpuAttention({ mode: 'webgpu' }) },
  { tolerance: 5e-6, label: 'WebGPU in Node via Dawn, software GL ES adapter' },
);

describe('WebGPU in Node through Dawn', () => {
  it('the automatic order sees the adapter, names it, and passes it over as software', async () => {
    const choice = await chooseMode();
    expect(choice.mode).toBe('webasm');
    expect(choice.skipped[0]).toEqual({
      mode: 'webgpu',
      reason: expect.stringMatching(/adapter ".*llvmpipe.*" is a software fallback/),
    });
  });

  it('runs both kernels as one fused command encoder on the WebGPU device', async () => {
    const att = await createGpuAttention({ mode: 'webgpu' });
    const x = new Tensor(
      [1, 2, 6, 8],
      Float32Array.from({ length: 96 }, (_, i) => Math.cos(i)),
    );
    await att.attend(x, x, x, { scale: 0.3 });
    expect(att.executedOn).toEqual({ executor: 'fused-encoder', mode: 'webgpu' });
    await att.dispose();
  });

  it('generates with the tiny model on the WGSL kernels and reproduces the reference tokens and image', async () => {
    const fixtures = fileURLToPath(new URL('../../core/fixtures/var-tiny/', import.meta.url));
    const registry = createRegistry();
    registry.register({ ...backend, create: () => createGpuAttention({ mode: 'webgpu' }) });
    const model = await loadVAR({
      var: `${fixtures}var.safetensors`,
      vae: `${fixtures}vae.safetensors`,
      registry,
      policy: explicitPolicy('gpu'),
    });
    const refs = await loadStateDict(`${fixtures}refs.safetensors`);
    const { tokens, images, trace } = await model.generate({ labels: [3, 7], cfg: 1.5, topK: 1, topP: 0, seed: 0 });
    await model.dispose();
    tokens.forEach((t, s) =>
      expect(Array.from(t), `scale ${s}`).toEqual(Array.from(refs.tensors.get(`ar.cfg1p5.idx.s${s}`)!.data)),
    );
    const expected = refs.tensors.get('ar.cfg1p5.img_01')!.data;
    let err = 0;
    for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(images.data[i] - expected[i]));
    expect(err).toBeLessThan(1e-4);
    expect(Object.keys(trace.summary())).toEqual(['gpu']);
  });
});
