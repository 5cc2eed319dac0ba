/**
 * `loadVAR`: the one call that turns a VAR checkpoint and its VQ-VAE checkpoint into a ready pipeline, in Node and in
 * the browser alike: each checkpoint is a path, the file's bytes, a ByteSource (a browser File read range by range),
 * or a state dict loaded already (a page that builds several pipelines from one pair of files).
 */
import { UsageError } from '../errors.js';
import { checkVARStateDict, inferVARConfig } from '../models/var/config.js';
import { inferVQVAEConfig, validateVQVAEStateDict } from '../models/vqvae/config.js';
import type { Tensor } from '../tensor.js';
import type { StateDictLike } from '../models/var/state-dict.js';
import type { ByteSource } from '../weights/io.js';
import {
  loadStateDict,
  loadStateDictFromBytes,
  loadStateDictFromSource,
  type LoadStateDictOptions,
} from '../weights/load.js';
import type { WeightsReader } from '../weights/types.js';
import { VARModel, type VARModelOptions } from './var-model.js';

/** A checkpoint (.safetensors or .pth): its path (Node), its bytes, a ByteSource, or a state dict loaded already. */
export type CheckpointInput = string | Uint8Array | ByteSource | StateDictLike;

export interface LoadVAROptions extends VARModelOptions {
  /** The VAR transformer checkpoint; not with `model`. */
  var?: CheckpointInput;
  /** The VQ-VAE checkpoint; not with `model`. */
  vae?: CheckpointInput;
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

const CHECKPOINT_NAMES = { var: 'VAR checkpoint', vae: 'VQ-VAE checkpoint' } as const;

function isByteSource(x: unknown): x is ByteSource {
  const s = x as ByteSource;
  return typeof s === 'object' && s !== null && typeof s.read === 'function' && typeof s.size === 'number';
}

function isStateDict(x: unknown): x is StateDictLike {
  return typeof x === 'object' && x !== null && (x as StateDictLike).tensors instanceof Map;
}

/** Reads one checkpoint (checking its index before its data), or takes a loaded state dict as it is. */
async function readCheckpoint(
  key: 'var' | 'vae',
  input: CheckpointInput,
  options: LoadStateDictOptions,
): Promise<StateDictLike> {
  if (typeof input === 'string' && input) return loadStateDict(input, options);
  if (input instanceof Uint8Array) return loadStateDictFromBytes(input, CHECKPOINT_NAMES[key], options);
  if (isByteSource(input)) return loadStateDictFromSource(input, options);
  if (isStateDict(input)) return input;
  throw new UsageError(
    `loadVAR needs { var, vae }: each a checkpoint path, its bytes (Uint8Array), a ByteSource or a loaded state dict; ${key} is ${
      typeof input === 'object' && input !== null ? 'an object of none of these shapes' : JSON.stringify(input)
    }`,
  );
}

export async function loadVAR(options: LoadVAROptions): Promise<VARModel> {
  if (typeof options !== 'object' || options === null)
    throw new UsageError('loadVAR needs { var, vae }: the two checkpoints');
  if (options.model !== undefined) return loadByName(options);
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
  const varLoad = readCheckpoint('var', options.var as CheckpointInput, { signal, checkIndex: checkVAR });
  const vaeLoad = readCheckpoint('vae', options.vae as CheckpointInput, { signal, checkIndex: checkVAE });
  vaeLoad.catch(() => undefined); // awaited below; not unhandled while the VAR's load is awaited
  const varSd = await varLoad;
  const vaeSd = await vaeLoad;
  return VARModel.fromStateDicts(varSd, vaeSd, options);
}

async function loadByName(options: LoadVAROptions): Promise<VARModel> {
  if (options.var !== undefined || options.vae !== undefined)
    throw new UsageError('loadVAR takes either { model } or { var, vae }, not both');
  let hub: typeof import('@nextscale/hub');
  try {
    hub = await import(/* @vite-ignore */ HUB);
  } catch (err) {
    if ((err as { code?: string })?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new UsageError(
      `loadVAR({ model: '${options.model}' }) needs the package @nextscale/hub (Node only); install it, or pass { var, vae } paths`,
    );
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
