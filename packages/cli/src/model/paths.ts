/** Which VAR and VQ-VAE files to load: the user's (flag > env > config) or the shipped model. */
import { existsSync, statSync } from 'node:fs';
import { shippedModel, type ResolvedSettings } from '../config/resolve.js';
import { usageError, weightsError } from '../errors.js';

export interface ModelPaths {
  var: string;
  vae: string;
  shipped: boolean;
}

/** Fills settings.var/vae from the shipped model when neither is given; validates presence. */
export function resolveModelPaths(settings: ResolvedSettings): ModelPaths {
  const v = settings.var.value;
  const vae = settings.vae.value;
  if (!v && !vae) {
    const shipped = shippedModel();
    if (!shipped) {
      throw usageError(
        'no model given and the default model is not installed with this CLI',
        'pass --var <var.pth|.safetensors> and --vae <vae.pth|.safetensors> (or set them in nextscale.config "model")',
      );
    }
    settings.var = { value: shipped.var, source: 'shipped' };
    settings.vae = { value: shipped.vae, source: 'shipped' };
    return { var: shipped.var, vae: shipped.vae, shipped: true };
  }
  if (!v) throw usageError('--vae was given without --var', 'pass both --var and --vae (they must belong to the same model)');
  if (!vae) throw usageError('--var was given without --vae', 'pass both --var and --vae (they must belong to the same model)');
  for (const [what, p] of [
    ['VAR', v],
    ['VQ-VAE', vae],
  ] as const) {
    if (!existsSync(p)) throw weightsError(`${what} weights file ${p} does not exist`, 'check the path');
    if (!statSync(p).isFile()) throw weightsError(`${what} weights path ${p} is not a file`, 'pass the .pth or .safetensors file itself');
  }
  return { var: v, vae, shipped: false };
}
