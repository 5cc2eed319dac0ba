/** `loadVAR`: the one call that turns a VAR checkpoint and its VQ-VAE checkpoint into a ready pipeline. */
import { UsageError } from '../errors.js';
import { checkVARStateDict, inferVARConfig } from '../models/var/config.js';
import { inferVQVAEConfig, validateVQVAEStateDict } from '../models/vqvae/config.js';
import type { Tensor } from '../tensor.js';
import { loadStateDict, type WeightsReader } from '../weights/index.js';
import { VARModel, type VARModelOptions } from './var-model.js';

export interface LoadVAROptions extends VARModelOptions {
  /** Path of the VAR transformer checkpoint (.safetensors or .pth); not with `model`. */
  var?: string;
  /** Path of the VQ-VAE checkpoint (.safetensors or .pth); not with `model`. */
  vae?: string;
  /**
   * A released model by name ('var-d16' … 'var-d36'; the catalogue of @nextscale/hub, which must be
   * installed): fetched into the Hugging Face cache when it is not there (HF_ENDPOINT, HF_TOKEN,
   * HF_HUB_OFFLINE apply), verified, loaded, and refused if it is not the model the name promises. Node only.
   */
  model?: string;
  /** Download events when `model` is given: initiate, download, progress, retry, done (see @nextscale/hub). */
  onDownload?: (event: { status: string } & Record<string, unknown>) => void;
  /** Stops loading (parsing and reading) with an AbortedError. */
  signal?: AbortSignal;
}

/**
 * The index as a state dict whose tensors have their shapes but no data (except the few small ones
 * whose values the config inference reads), so that the key set and every shape are checked before
 * gigabytes of tensor data are read.
 */
async function indexAsStateDict(reader: WeightsReader, withData: readonly string[]): Promise<Map<string, Tensor>> {
  const tensors = new Map<string, Tensor>();
  for (const t of reader.tensors) {
    const data = withData.includes(t.name) ? await reader.read(t.name) : new Float32Array(0);
    tensors.set(t.name, { shape: t.shape, data } as unknown as Tensor);
  }
  return tensors;
}

// A variable, so that bundlers for the browser leave the Node-only package out.
const HUB = '@nextscale/hub';

export async function loadVAR(options: LoadVAROptions): Promise<VARModel> {
  if (options?.model !== undefined) return loadByName(options);
  for (const key of ['var', 'vae'] as const) {
    if (typeof options?.[key] !== 'string' || !options[key]) {
      throw new UsageError(`loadVAR needs { var, vae } paths to the checkpoints; ${key} is ${JSON.stringify(options?.[key])}`);
    }
  }
  const { signal } = options;
  const checkVAR = async (r: WeightsReader) => {
    const sd = { tensors: await indexAsStateDict(r, ['lvl_1L']), metadata: r.metadata, path: r.path };
    checkVARStateDict(sd, inferVARConfig(sd, { patchNums: options.patchNums, numHeads: options.numHeads }));
  };
  const checkVAE = async (r: WeightsReader) => {
    const tensors = await indexAsStateDict(r, []);
    validateVQVAEStateDict(tensors, inferVQVAEConfig(tensors, r.path), r.path);
  };
  // Both files load at once, but the VAR's error wins when both are wrong (otherwise the message would depend
  // on which read finished first); the VQ-VAE's is reported only for a good VAR.
  const varLoad = loadStateDict(options.var!, { signal, checkIndex: checkVAR });
  const vaeLoad = loadStateDict(options.vae!, { signal, checkIndex: checkVAE });
  vaeLoad.catch(() => undefined); // awaited below; not unhandled while the VAR's load is awaited
  const varSd = await varLoad;
  const vaeSd = await vaeLoad;
  return VARModel.fromStateDicts(varSd, vaeSd, options);
}

async function loadByName(options: LoadVAROptions): Promise<VARModel> {
  if (options.var !== undefined || options.vae !== undefined) throw new UsageError('loadVAR takes either { model } or { var, vae }, not both');
  let hub: typeof import('@nextscale/hub');
  try {
    hub = await import(/* @vite-ignore */ HUB);
  } catch (err) {
    if ((err as { code?: string })?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new UsageError(`loadVAR({ model: '${options.model}' }) needs the package @nextscale/hub (Node only); install it, or pass { var, vae } paths`);
  }
  const entry = hub.findModel(options.model!, hub.catalogue());
  const files = await hub.ensureModel(entry, { signal: options.signal, onEvent: options.onDownload as never });
  const model = await loadVAR({ ...options, model: undefined, var: files.var.path, vae: files.vae.path });
  try {
    hub.checkLoadedModel(entry, model.config);
  } catch (err) {
    await model.dispose();
    throw err;
  }
  return model;
}
