/**
 * The generation worker: holds the weights and the loaded pipelines, and runs one task at a time (load,
 * generate) in arrival order; a cancel acts at once, through the running generation's AbortSignal.
 */
import {
  AbortedError,
  AttentionTrace,
  NextscaleError,
  Tensor,
  VARModel,
  editMask,
  loadVAR,
  type GenerateResult,
} from '@nextscale/core';
import { checkLoadedModel, formatBytes, isHubError, type ModelEntry } from '@nextscale/hub/browser';
import { loadStateDictFromSource } from '@nextscale/core/weights';
import type {
  EditRequest,
  EngineId,
  FromWorker,
  GenerateSettings,
  ModelInfo,
  ToWorker,
  EnvironmentReport,
} from '../protocol.js';
import { hubFile, missingBytes } from './hub.js';
import { useEngine } from './engine.js';
import { samplingDefaults } from './metadata.js';
import { toRgba } from './pixels.js';
import { adapterLimits, catalogueSize, checkFit, refuseUnfit, sizeOfModel } from './memory-fit.js';
import { probeGpu, routing } from './routing.js';
import { traceRows } from './trace.js';
import { blobSource, classify, fileWeights, shippedWeights, type Kind, type Weights } from './weights.js';

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);

let env: EnvironmentReport = { simd: true, crossOriginIsolated: false };
let modelBase = '';
/** Where the app serves onnxruntime-web's .wasm (dist/ort/). */
let ortBase = '';
let weights: Weights | null = null;
/** Pipelines of the current weights, one per routing (backends + policy). */
const models = new Map<string, VARModel>();
const pending: Partial<Record<Kind, File>> = {};
let running: { id: number; controller: AbortController } | null = null;
let queue: Promise<void> = Promise.resolve();

function message(err: unknown): string {
  if (isHubError(err)) return err.fix ? `${err.message}; ${err.fix}` : err.message;
  if (err instanceof NextscaleError || err instanceof Error) return err.message;
  return String(err);
}

async function setWeights(w: Weights, check?: (model: VARModel) => void): Promise<void> {
  // Build the default pipeline first, so that weights that do not fit are refused before they replace anything.
  const r = await routing('norm', 1e-2, env.simd);
  const model = await loadVAR({ var: w.var, vae: w.vae, ...r });
  try {
    check?.(model);
  } catch (err) {
    await model.dispose();
    throw err;
  }
  for (const m of models.values()) await m.dispose();
  models.clear();
  models.set(r.key, model);
  weights = w;
  post({ type: 'model', info: infoOf(w, model) });
}

function infoOf(w: Weights, model: VARModel): ModelInfo {
  return {
    label: w.label,
    shipped: w.shipped,
    numClasses: model.config.numClasses,
    classNames: model.classNames ?? null,
    patchNums: [...model.config.patchNums],
    imageSize: model.vae.imageSize,
    defaults: samplingDefaults(w.var.metadata),
  };
}

async function loadFiles(files: File[]): Promise<void> {
  for (const f of files) pending[await classify(f)] = f;
  if (!pending.var || !pending.vae) {
    const have = pending.var ? `VAR checkpoint ${pending.var.name}` : `VQ-VAE ${pending.vae!.name}`;
    post({
      type: 'loading',
      what: `got the ${have}; now open its ${pending.var ? 'VQ-VAE (vae_*.pth)' : 'VAR checkpoint (var_d*.pth)'}`,
    });
    return;
  }
  const [v, q] = [pending.var, pending.vae];
  delete pending.var;
  delete pending.vae;
  post({ type: 'loading', what: `reading ${v.name} and ${q.name}` });
  const w = await fileWeights(v, q);
  try {
    await setWeights(w);
  } catch (err) {
    // Both files read; they do not make one model (shapes, schedule, class count): say which pair to open.
    throw new Error(
      `${message(err)}; ${v.name} and ${q.name} do not make one model: open the VQ-VAE this VAR was trained with (the shipped model stays loaded)`,
    );
  }
}

/**
 * A released model by name: refused up front when the catalogue's figures do not fit the chosen engine or the
 * browser's storage quota; else both files from the cache or the hub (hub.ts: verified, resumable), loaded and
 * checked to be the model the name promises.
 */
async function loadHub(entry: ModelEntry, endpoint: string, engine: EngineId, chunkBytes?: number): Promise<void> {
  const size = catalogueSize(entry);
  const fit = size && checkFit(engine, size, 1, engine === 'onnx-webgpu' ? await adapterLimits() : null);
  if (fit && !fit.ok) throw new Error(`${entry.name}, before downloading: ${fit.text}`);
  const missing = (await missingBytes(endpoint, entry, 'var')) + (await missingBytes(endpoint, entry, 'vae'));
  const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
  if (missing && estimate?.quota !== undefined) {
    const free = estimate.quota - (estimate.usage ?? 0);
    if (free < missing)
      throw new Error(
        `${entry.name} needs ${formatBytes(missing)} more in this browser's storage but it allows ${formatBytes(free)} more (quota ${formatBytes(estimate.quota)}, used ${formatBytes(estimate.usage ?? 0)}); free some site data, or download the files and open them`,
      );
  }
  const files: Partial<Record<Kind, Awaited<ReturnType<typeof hubFile>>>> = {};
  for (const role of ['var', 'vae'] as const) {
    post({ type: 'loading', what: `${entry.name}: ${entry.files[role]} from ${endpoint}` });
    files[role] = await hubFile(endpoint, entry, role, (p) => post({ type: 'download', ...p }), chunkBytes);
  }
  const note = (['var', 'vae'] as const)
    .map((r) => {
      const f = files[r]!;
      const how = f.cached
        ? 'from this browser'
        : f.resumedFrom
          ? `resumed at ${formatBytes(f.resumedFrom)}`
          : 'downloaded';
      return `${entry.files[r]} ${formatBytes(f.bytes)} ${how}, SHA-256 verified`;
    })
    .join('; ');
  post({ type: 'loading', what: `reading ${entry.name} (${note})` });
  const [v, q] = [
    await loadStateDictFromSource(blobSource(files.var!.blob, entry.files.var)),
    await loadStateDictFromSource(blobSource(files.vae!.blob, entry.files.vae)),
  ];
  await setWeights({ label: entry.name, shipped: false, var: v, vae: q }, (model) =>
    checkLoadedModel(entry, model.config),
  );
  post({ type: 'loading', what: note });
}

async function pipeline(s: GenerateSettings): Promise<VARModel> {
  if (!weights) throw new Error('no model is loaded yet');
  const r = await routing(s.backend, s.epsilon, env.simd);
  let model = models.get(r.key);
  if (!model) {
    model = await loadVAR({ var: weights.var, vae: weights.vae, ...r });
    models.set(r.key, model);
  }
  return model;
}

/** RGBA bytes → (1, 3, side, side) in [0, 1], v / 255 in float32 as the CLI reads a picture. */
function pictureTensor(e: EditRequest): Tensor {
  const plane = e.side * e.side;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) data[c * plane + i] = e.rgba[i * 4 + c] / 255;
  return new Tensor([1, 3, e.side, e.side], data);
}

/** A generation, or (with `edit`) a zero-shot edit of a picture through model.edit; the same previews either way. */
async function generate(id: number, s: GenerateSettings, edit?: EditRequest): Promise<void> {
  const controller = new AbortController();
  running = { id, controller };
  /** The last scale the page was told of: a cancel reports this one, so the message matches the preview. */
  let shown = 0;
  try {
    const engine = await useEngine(s.engine, env.simd, ortBase);
    const model = await pipeline(s);
    // before the engine holds any weight: a model too big for it is refused with the numbers
    const memory = await refuseUnfit(
      s.engine,
      sizeOfModel(model, [...weights!.var.tensors, ...weights!.vae.tensors]),
      s.batch,
    );
    const t0 = performance.now();
    let decodeAt: number | undefined;
    const common = {
      labels: Array<number>(s.batch).fill(s.classIndex),
      cfg: s.cfg,
      topK: s.topK,
      topP: s.topP,
      seed: s.seed,
      moreSmooth: s.moreSmooth,
      signal: controller.signal,
      // where the transformer ends and the final decode starts (the benchmark's per-stage times)
      onProgress: (p: { stage: string }) => void (p.stage === 'decode' && (decodeAt ??= performance.now())),
      onScale: async (e: { scale: number; scales: number; fHat: Tensor }) => {
        if (e.scale === e.scales) return; // the final decode below is this scale's picture
        let images = null;
        if (s.preview) {
          const pm1 = await model.vae.model.fhatToImage(e.fHat, {
            router: model.router,
            trace: new AttentionTrace(),
            signal: controller.signal,
          });
          images = toRgba(pm1, (v) => (v + 1) * 0.5);
        }
        post({ type: 'scale', id, scale: e.scale, scales: e.scales, images });
        // after the post: a cancel that lands in this scale's preview decode still reports the previous one
        shown = e.scale;
      },
    };
    let result: GenerateResult;
    let kept: { tokens: number; of: number } | undefined;
    if (edit) {
      if (edit.side !== model.vae.imageSize)
        throw new Error(
          `the picture is ${edit.side}×${edit.side} but this model draws ${model.vae.imageSize}×${model.vae.imageSize}; open the picture again`,
        );
      const grid = model.config.patchNums.at(-1)!;
      const keep = editMask(grid, edit.box, edit.mode);
      kept = { tokens: keep.data.reduce((a, v) => a + v, 0), of: grid * grid };
      result = await model.edit({ ...common, image: pictureTensor(edit), keep });
    } else {
      result = await model.generate(common);
    }
    const end = performance.now();
    const images = toRgba(result.images);
    const S = model.config.patchNums.length;
    post({ type: 'scale', id, scale: S, scales: S, images });
    post({
      type: 'done',
      id,
      images,
      trace: traceRows(result.trace),
      policy: model.router.policy.name,
      engine,
      memory,
      ms: end - t0,
      stages: { transformer: (decodeAt ?? end) - t0, decode: end - (decodeAt ?? end) },
      ...(kept ? { kept } : {}),
    });
  } catch (err) {
    if (err instanceof AbortedError || controller.signal.aborted) post({ type: 'cancelled', id, scale: shown });
    else post({ type: 'error', id, message: message(err) });
  } finally {
    running = null;
  }
}

function enqueue(task: () => Promise<void>, onError: (m: string) => void): void {
  queue = queue.then(task).catch((err) => onError(message(err)));
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'init':
      env = m.env;
      modelBase = m.modelBase;
      ortBase = m.ortBase;
      enqueue(
        async () => setWeights(await shippedWeights(modelBase)),
        (msg) => post({ type: 'model-error', message: msg }),
      );
      return;
    case 'use-shipped':
      enqueue(
        async () => setWeights(await shippedWeights(modelBase)),
        (msg) => post({ type: 'model-error', message: msg }),
      );
      return;
    case 'load-files':
      enqueue(
        () => loadFiles(m.files),
        (msg) => post({ type: 'model-error', message: msg }),
      );
      return;
    case 'load-hub':
      enqueue(
        () => loadHub(m.entry, m.endpoint, m.engine, m.chunkBytes),
        (msg) => post({ type: 'model-error', message: msg }),
      );
      return;
    case 'generate':
      enqueue(
        () => generate(m.id, m.settings),
        (msg) => post({ type: 'error', id: m.id, message: msg }),
      );
      return;
    case 'edit':
      enqueue(
        () => generate(m.id, m.settings, m.edit),
        (msg) => post({ type: 'error', id: m.id, message: msg }),
      );
      return;
    case 'cancel':
      if (running?.id === m.id) running.controller.abort();
      return;
    case 'probe-gpu':
      enqueue(
        async () => post({ type: 'gpu', ...(await probeGpu()) }),
        () => undefined,
      );
      return;
  }
};
