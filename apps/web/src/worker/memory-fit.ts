/**
 * Whether a model fits the chosen onnx engine, decided before the engine holds any of its weights, so that a model
 * too big for the tab is refused with the numbers instead of crashing it.
 *
 * - 'onnx' (onnxruntime-web's wasm): one wasm32 instance, at most 4 GiB of memory, holds every session's weights, and
 *   the working set of the largest call. The KV cache is counted there too, although core keeps it in JavaScript
 *   today: the fused transformer block moves it into the engine, and the check should not start passing models
 *   that will not fit then. Prepacked weight copies are not counted (not measured here).
 * - 'onnx-webgpu': weights live in GPU buffers, outside the wasm instance; each buffer (the largest weight, the
 *   largest activation, one layer's K or V) must fit the adapter's maxBufferSize and maxStorageBufferBindingSize.
 *   WebGPU reports no total: a model under these limits may still exhaust a small GPU.
 */
import { adapterName } from '@nextscale/engine-onnx/browser';
import type { VARModel } from '@nextscale/core';
import {
  randomVARStateDictEntries,
  randomVQVAEStateDictEntries,
  releasedVARSpec,
  releasedVQVAEConfig,
} from '@nextscale/core/models';
import type { ModelEntry } from '@nextscale/hub/browser';
import type { EngineId } from '../protocol.js';

export const WASM32_BYTES = 2 ** 32;
const F32 = 4;

/** The model figures the estimate needs (from the loaded config; weights as float32, as the engines hold them). */
export interface ModelSize {
  depth: number;
  embedDim: number;
  vocabSize: number;
  mlpHidden: number;
  patchNums: readonly number[];
  vaeCh: number;
  vaeChMult: readonly number[];
  imageSize: number;
  weightBytes: number;
  largestWeight: { name: string; bytes: number };
}

export interface AdapterLimits {
  name: string;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface Fit {
  ok: boolean;
  /** One line: what was compared with what (the refusal's message when !ok). */
  text: string;
}

const gb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);

/** A model's figures from its config and its tensors (float32 bytes each; the largest one remembered). */
export function modelSize(
  config: Omit<ModelSize, 'weightBytes' | 'largestWeight'>,
  tensors: Iterable<[string, { shape: readonly number[] }]>,
): ModelSize {
  let weightBytes = 0;
  let largestWeight = { name: '', bytes: 0 };
  for (const [name, t] of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * F32;
    weightBytes += bytes;
    if (bytes > largestWeight.bytes) largestWeight = { name, bytes };
  }
  return { ...config, weightBytes, largestWeight };
}

/** Activation sizes of one generation of `images` images (VAR runs a conditional and an unconditional row for each). */
function activations(m: ModelSize, images: number) {
  const rows = 2 * images;
  const L = m.patchNums.reduce((s, p) => s + p * p, 0);
  const T = Math.max(...m.patchNums) ** 2;
  const C = m.embedDim;
  const kvLayer = rows * L * C * F32;
  // the largest transformer call: the last scale's tokens in, the widest of qkv, the MLP and the logits out
  const widest = rows * T * Math.max(3 * C, m.mlpHidden, m.vocabSize) * F32;
  const transformerCall = rows * T * C * F32 + widest;
  // the VQ-VAE decoder's widest level (level i: ch·chMult[i] channels at side / 2^i): a 3×3 convolution's input,
  // output and its im2col (9× the input)
  let map = 0;
  for (let i = 0; i < m.vaeChMult.length; i++) {
    const side = m.imageSize / 2 ** i;
    map = Math.max(map, images * m.vaeCh * m.vaeChMult[i] * side * side * F32);
  }
  return { kv: 2 * m.depth * kvLayer, kvLayer, widest, map, working: Math.max(transformerCall, 11 * map) };
}

/** Whether `m` fits `engine` for a generation of `images` images; null for engines without such a limit (or no adapter). */
export function checkFit(engine: EngineId, m: ModelSize, images: number, adapter?: AdapterLimits | null): Fit | null {
  const a = activations(m, images);
  if (engine === 'onnx') {
    const total = m.weightBytes + a.kv + a.working;
    const sum = `weights ${gb(m.weightBytes)} + KV cache ${gb(a.kv)} + working set ${gb(a.working)} = ${gb(total)}`;
    if (total <= WASM32_BYTES)
      return { ok: true, text: `fits onnxruntime-web's wasm32 instance: ${sum} of ${gb(WASM32_BYTES)}` };
    return {
      ok: false,
      text: `this model does not fit onnxruntime-web's wasm engine: ${sum}, over wasm32's ${gb(WASM32_BYTES)} per instance; choose the onnx-webgpu engine (weights in GPU memory), fewer images, or a smaller model`,
    };
  }
  if (engine === 'onnx-webgpu') {
    if (!adapter) return null; // the engine's start has refused it already, saying why
    const limit = Math.min(adapter.maxBufferSize, adapter.maxStorageBufferBindingSize);
    const buffers = [
      { what: `the largest weight (${m.largestWeight.name})`, bytes: m.largestWeight.bytes },
      { what: 'the largest activation', bytes: Math.max(a.widest, a.map) },
      { what: "one layer's K or V cache", bytes: a.kvLayer },
    ];
    const over = buffers.find((b) => b.bytes > limit);
    const limits = `${adapter.name}'s maxBufferSize ${gb(adapter.maxBufferSize)}, maxStorageBufferBindingSize ${gb(adapter.maxStorageBufferBindingSize)}`;
    if (!over)
      return { ok: true, text: `fits ${limits}: largest buffer ${gb(Math.max(...buffers.map((b) => b.bytes)))}` };
    return {
      ok: false,
      text: `this model does not fit the WebGPU adapter: ${over.what} needs a ${gb(over.bytes)} buffer, over ${limits}; choose the onnx engine, fewer images, or a smaller model`,
    };
  }
  return null;
}

/** The adapter's name and buffer limits, as the worker sees them (null without WebGPU or an adapter). */
export async function adapterLimits(): Promise<AdapterLimits | null> {
  const gpu = (
    globalThis.navigator as unknown as {
      gpu?: { requestAdapter(): Promise<{ limits: AdapterLimits; info?: object } | null> };
    }
  ).gpu;
  const a = await gpu?.requestAdapter().catch(() => null);
  if (!a) return null;
  return {
    name: adapterName(a),
    maxBufferSize: a.limits.maxBufferSize,
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
  };
}

/** The loaded model's figures (its VAR and VQ-VAE weights as float32). */
export function sizeOfModel(model: VARModel, tensors: Iterable<[string, { shape: readonly number[] }]>): ModelSize {
  const c = model.config;
  const v = model.vae.model.config;
  const config = {
    depth: c.depth,
    embedDim: c.embedDim,
    vocabSize: c.vocabSize,
    mlpHidden: c.mlpHidden,
    patchNums: c.patchNums,
    vaeCh: v.ch,
    vaeChMult: v.chMult,
    imageSize: model.vae.imageSize,
  };
  return modelSize(config, tensors);
}

/**
 * A catalogue entry's figures before anything is downloaded: the released architecture at its depth, schedule and
 * AdaLN (core's lazy random-weight entries: shapes, no tensor data) and the released VQ-VAE; null for an entry that
 * does not state its depth, resolution and schedule.
 */
export function catalogueSize(e: ModelEntry): ModelSize | null {
  if (!e.depth || !e.resolution || !e.patchNums.length) return null;
  const s = { ...releasedVARSpec(e.depth), patchNums: [...e.patchNums], sharedAdaLN: e.sharedAdaLN };
  const v = releasedVQVAEConfig();
  const config = {
    depth: e.depth,
    embedDim: s.C,
    vocabSize: s.vocab,
    mlpHidden: s.mlpHidden,
    patchNums: s.patchNums,
    vaeCh: v.ch,
    vaeChMult: v.chMult,
    imageSize: e.resolution,
  };
  const tensors = [...randomVARStateDictEntries(s), ...randomVQVAEStateDictEntries(v)];
  return modelSize(
    config,
    tensors.map((t) => [t.name, t] as [string, { shape: readonly number[] }]),
  );
}

/** Refuses (throws the numbers) when the model does not fit the engine; else the line that says how it fits (or null). */
export async function refuseUnfit(engine: EngineId, m: ModelSize, images: number): Promise<string | null> {
  const fit = checkFit(engine, m, images, engine === 'onnx-webgpu' ? await adapterLimits() : null);
  if (fit && !fit.ok) throw new Error(fit.text);
  return fit?.text ?? null;
}
