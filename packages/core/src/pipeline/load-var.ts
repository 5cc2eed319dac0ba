/**
 * `loadVAR`: the one call that turns a VAR checkpoint and its VQ-VAE checkpoint into a ready pipeline, in Node and in
 * the browser alike: each checkpoint is a path, the file's bytes, a ByteSource (a browser File read range by range),
 * or a state dict loaded already (a page that builds several pipelines from one pair of files).
 */
import { UsageError } from '../errors.js';
import { assertStreamedFinite, isAdaLNWeightKey } from '../models/var/adaln-weights.js';
import { checkVARStateDict, inferVARConfig } from '../models/var/config.js';
import { inferVQVAEConfig, validateVQVAEStateDict } from '../models/vqvae/config.js';
import type { Tensor } from '../tensor.js';
import type { StateDictLike } from '../models/var/state-dict.js';
import type { ByteSource } from '../weights/io.js';
import {
  openWeights,
  openWeightsBytes,
  openWeightsSource,
  readStateDict,
  type OpenWeightsOptions,
} from '../weights/load.js';
import { activeEngineInfo, engineWasChosen } from '../engines/active.js';
import type { VARConfig } from '../models/var/config.js';
import { checkMemoryFit, type GenerationRequest, weightBytesOf } from './memory-fit.js';
import type { WeightsReader } from '../weights/types.js';
import { isEncoderKey, VARModel, type VARModelOptions } from './var-model.js';

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
  /**
   * The most images one generation will make (default 1), or a function of the model's configuration (inferred from
   * the index, e.g. for a count that depends on the number of classes) that gives it: the memory check before loading counts their KV cache and
   * working set with the weights, and refuses (MemoryError, code E_MEMORY) what does not fit the memory available
   * (NEXTSCALE_MEMORY_LIMIT, else the machine's available memory or its cgroup limit).
   */
  images?: number | ((config: VARConfig) => number);
  /** What the caller holds after the decode to write the images out (counted by the memory check; see GenerationRequest). */
  output?: GenerationRequest['output'];
  /** The largest single buffer the caller can allocate (Node's Buffer limit, for a caller that writes one). */
  maxBuffer?: number;
  /**
   * Where the VAR checkpoint is a path: true (the default) leaves its AdaLN weight matrices in the file and reads
   * them again at each generation (models/var/adaln-weights.ts: d16 holds 392 MiB less, for ~40 ms per generation);
   * the file stays open until the model is disposed, and a generation refuses it if it changed on disk. false reads
   * them into memory with the rest.
   */
  streamAdaLN?: boolean;
  /** false: load without the memory check (default true; checkpoints given as loaded state dicts are never checked). */
  checkMemory?: boolean;
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

/** A checkpoint opened: its index (a reader, no tensor data yet), or a state dict loaded already. */
type OpenedCheckpoint = { reader: WeightsReader } | { loaded: StateDictLike };

/** Opens one checkpoint's index (no tensor data), or takes a loaded state dict as it is. */
async function openCheckpoint(
  key: 'var' | 'vae',
  input: CheckpointInput,
  options: OpenWeightsOptions,
): Promise<OpenedCheckpoint> {
  if (typeof input === 'string' && input) return { reader: await openWeights(input, options) };
  if (input instanceof Uint8Array) return { reader: await openWeightsBytes(input, CHECKPOINT_NAMES[key], options) };
  if (isByteSource(input)) return { reader: await openWeightsSource(input, options) };
  if (isStateDict(input)) return { loaded: input };
  throw new UsageError(
    `loadVAR needs { var, vae }: each a checkpoint path, its bytes (Uint8Array), a ByteSource or a loaded state dict; ${key} is ${
      typeof input === 'object' && input !== null ? 'an object of none of these shapes' : JSON.stringify(input)
    }`,
  );
}

async function closeOpened(f: OpenedCheckpoint | undefined): Promise<void> {
  if (f && 'reader' in f) await f.reader.close().catch(() => undefined);
}

/** The dense engine the model will run on, as far as it is known before loading (undefined: chosen later). */
function engineIdOf(options: LoadVAROptions): string | undefined {
  const { engine } = options;
  if (typeof engine === 'string') return engine;
  if (typeof engine === 'object' && engine !== null) return engine.id;
  if (engineWasChosen()) return activeEngineInfo().id;
  return (typeof process !== 'undefined' && process.env?.['NEXTSCALE_ENGINE']) || undefined;
}

export async function loadVAR(options: LoadVAROptions): Promise<VARModel> {
  if (typeof options !== 'object' || options === null)
    throw new UsageError('loadVAR needs { var, vae }: the two checkpoints');
  if (options.model !== undefined) return loadByName(options);
  const { signal } = options;
  // Both indexes first (the VAR's error wins when both are wrong), then the memory check, then the data of both at
  // once: a model that cannot fit is refused before a byte of tensor data is read.
  let varFile: OpenedCheckpoint | undefined;
  let vaeFile: OpenedCheckpoint | undefined;
  try {
    varFile = await openCheckpoint('var', options.var as CheckpointInput, { signal });
    let varConfig: VARConfig | undefined;
    if ('reader' in varFile) {
      const r = varFile.reader;
      const sd = { tensors: await indexAsStateDict(r, ['lvl_1L']), metadata: r.metadata, path: r.path };
      varConfig = inferVARConfig(sd, { patchNums: options.patchNums, numHeads: options.numHeads });
      checkVARStateDict(sd, varConfig);
    }
    vaeFile = await openCheckpoint('vae', options.vae as CheckpointInput, { signal });
    if (varConfig && 'reader' in vaeFile) {
      const r = vaeFile.reader;
      const tensors = await indexAsStateDict(r, []);
      const vaeConfig = inferVQVAEConfig(tensors, r.path);
      validateVQVAEStateDict(tensors, vaeConfig, r.path);
      if (options.checkMemory !== false)
        checkMemoryFit({
          model: { ...varConfig, vaeCh: vaeConfig.ch, vaeChMult: vaeConfig.chMult },
          weights: weightBytesOf([
            ...heldTensors((varFile as { reader: WeightsReader }).reader, streamsAdaLN(options, varFile)),
            ...r.tensors,
          ]),
          request: {
            images: typeof options.images === 'function' ? options.images(varConfig) : (options.images ?? 1),
            output: options.output,
          },
          engine: engineIdOf(options),
          maxBuffer: options.maxBuffer,
        });
    } else if ('reader' in vaeFile) {
      const tensors = await indexAsStateDict(vaeFile.reader, []);
      validateVQVAEStateDict(tensors, inferVQVAEConfig(tensors, vaeFile.reader.path), vaeFile.reader.path);
    }
  } catch (err) {
    await Promise.all([closeOpened(varFile), closeOpened(vaeFile)]);
    throw err;
  }
  const read = async (f: OpenedCheckpoint, shapeOnly?: (name: string) => boolean) =>
    'reader' in f ? readStateDict(f.reader, { signal, shapeOnly, keepOpen: shapeOnly === isAdaLNWeightKey }) : f.loaded;
  const stream = streamsAdaLN(options, varFile);
  const varLoad = read(varFile, stream ? isAdaLNWeightKey : undefined);
  const vaeLoad = read(vaeFile, options.encoder === false ? isEncoderKey : undefined);
  vaeLoad.catch(() => undefined); // awaited below; not unhandled while the VAR's load is awaited
  const varSd: StateDictLike = await varLoad;
  const source = stream ? (varFile as { reader: WeightsReader }).reader : undefined;
  try {
    const vaeSd = await vaeLoad;
    if (source) {
      await assertStreamedFinite(
        source,
        source.tensors.filter((t) => isAdaLNWeightKey(t.name)).map((t) => t.name),
      );
      varSd.adaLNSource = source;
    }
    return await VARModel.fromStateDicts(varSd, vaeSd, options);
  } catch (err) {
    await source?.close().catch(() => undefined);
    throw err;
  }
}

/** Whether loadVAR leaves this VAR checkpoint's AdaLN weights in its file (LoadVAROptions.streamAdaLN). */
function streamsAdaLN(options: LoadVAROptions, f: OpenedCheckpoint): boolean {
  return options.streamAdaLN !== false && typeof options.var === 'string' && 'reader' in f;
}

/** What loading holds of a VAR checkpoint: its tensors but the streamed AdaLN weights, and one buffer for those. */
function heldTensors(reader: WeightsReader, stream: boolean): WeightsReader['tensors'] {
  if (!stream) return reader.tensors;
  const streamed = reader.tensors.filter((t) => isAdaLNWeightKey(t.name));
  const size = (t: { shape: readonly number[] }) => t.shape.reduce((a, b) => a * b, 1);
  const largest = streamed.reduce<(typeof streamed)[number] | undefined>(
    (m, t) => (!m || size(t) > size(m) ? t : m),
    undefined,
  );
  return [
    ...reader.tensors.filter((t) => !isAdaLNWeightKey(t.name)),
    ...(largest ? [{ ...largest, name: 'AdaLN buffer' }] : []),
  ];
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
