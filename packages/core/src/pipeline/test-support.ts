/** Shared by the pipeline tests. */
import { Tensor } from '../tensor.js';
import { createExactTestRegistry } from '../testing/exact-test-backend.js';
import { loadStateDict } from '../weights/index.js';
import { fixture, randomVARStateDict, SHARED_ADALN_PLAIN_ATTN_SPEC } from '../models/var/test-support.js';
import { VARModel } from './var-model.js';

/**
 * A VAR of another shape than the fixture (SHARED_ADALN_PLAIN_ATTN_SPEC, random weights) with the tiny fixture's
 * VQ-VAE, built from in-memory state dicts on the exact test backend.
 */
export async function randomModelOfAnotherShape(): Promise<VARModel> {
  const spec = SHARED_ADALN_PLAIN_ATTN_SPEC;
  // The tiny VQ-VAE is fully convolutional; only its training-statistics buffer is sized per scale.
  const vaeTensors = new Map((await loadStateDict(fixture('vae.safetensors'))).tensors);
  vaeTensors.set('quantize.ema_vocab_hit_SV', new Tensor([spec.patchNums.length, spec.vocab]));
  return VARModel.fromStateDicts(
    { tensors: randomVARStateDict(spec), metadata: { patch_nums: JSON.stringify(spec.patchNums) } },
    { tensors: vaeTensors },
    { numHeads: spec.heads, registry: createExactTestRegistry() },
  );
}
