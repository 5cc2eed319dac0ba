/** A VAR transformer only works with the VQ-VAE whose codebook and latent it was trained on. */
import { UsageError, WeightsError } from '../errors.js';
import type { VARConfig } from '../models/var/config.js';
import type { VQVAE } from '../models/vqvae/index.js';

export function checkVAECompatibility(config: VARConfig, vae: VQVAE, files: { var: string; vae: string }): void {
  const q = vae.quantizer;
  const problems: string[] = [];
  if (q.Cvae !== config.cvae) {
    problems.push(
      `the VAR reads Cvae = ${config.cvae} latent channels (word_embed.weight) but the VQ-VAE codebook has ${q.Cvae} (quantize.embedding.weight)`,
    );
  }
  if (q.vocabSize !== config.vocabSize) {
    problems.push(
      `the VAR predicts ${config.vocabSize} tokens (head.weight) but the VQ-VAE codebook has ${q.vocabSize} entries`,
    );
  }
  if (problems.length) throw new WeightsError(files.vae, `does not fit VAR ${files.var}: ${problems.join('; ')}`);
  const same =
    vae.patchNums.length === config.patchNums.length && vae.patchNums.every((p, i) => p === config.patchNums[i]);
  if (!same) {
    throw new UsageError(
      `the VQ-VAE uses patchNums [${vae.patchNums.join(', ')}] but the VAR uses [${config.patchNums.join(', ')}]`,
    );
  }
}
