/** `loadVAR`: the one call that turns a VAR checkpoint and its VQ-VAE checkpoint into a ready pipeline. */
import { UsageError } from '../errors.js';
import { loadStateDict } from '../weights/index.js';
import { VARModel, type VARModelOptions } from './var-model.js';

export interface LoadVAROptions extends VARModelOptions {
  /** Path of the VAR transformer checkpoint (.safetensors or .pth). */
  var: string;
  /** Path of the VQ-VAE checkpoint (.safetensors or .pth). */
  vae: string;
}

export async function loadVAR(options: LoadVAROptions): Promise<VARModel> {
  for (const key of ['var', 'vae'] as const) {
    if (typeof options?.[key] !== 'string' || !options[key]) {
      throw new UsageError(`loadVAR needs { var, vae } paths to the checkpoints; ${key} is ${JSON.stringify(options?.[key])}`);
    }
  }
  const [varSd, vaeSd] = await Promise.all([loadStateDict(options.var), loadStateDict(options.vae)]);
  return VARModel.fromStateDicts(varSd, vaeSd, options);
}
