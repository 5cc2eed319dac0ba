/**
 * The page: controls, the coarse-to-fine preview, results and the attention trace. All computing happens
 * in the worker (worker/worker.ts). `<html data-state>` (loading, ready, running, done, cancelled, error)
 * and `data-scale` (scales finished, set when that scale's preview is drawn) say where it stands.
 */
import './style.css';
import { adapterName } from '@nextscale/engine-onnx/browser';
import {
  DEFAULT_ENDPOINT,
  findModel,
  formatBytes,
  parseCatalogue,
  RELEASED_MODELS,
  type ModelEntry,
} from '@nextscale/hub/browser';
import { detectEnvironment, notices } from './environment.js';
import { hubEndpoint, parseUrl, resolveClass, toQuery, type UrlRequest } from './params.js';
import type {
  BackendChoice,
  EditMode,
  EngineId,
  FromWorker,
  GenerateSettings,
  Images,
  ModelInfo,
  ToWorker,
} from './protocol.js';
import { BoxEditor } from './ui/box-editor.js';
import { drawGrid, imageCanvas, pngDataUrl } from './ui/images.js';
import { openPicture, toModelSize, type ModelPicture, type Picture } from './ui/picture.js';
import { renderTrace } from './ui/trace-table.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const root = document.documentElement;
const form = $<HTMLFormElement>('controls');
const field = {
  class: $<HTMLSelectElement>('class'),
  seed: $<HTMLInputElement>('seed'),
  batch: $<HTMLInputElement>('batch'),
  cfg: $<HTMLInputElement>('cfg'),
  topK: $<HTMLInputElement>('topk'),
  topP: $<HTMLInputElement>('topp'),
  smooth: $<HTMLInputElement>('smooth'),
  backend: $<HTMLSelectElement>('backend'),
  epsilon: $<HTMLInputElement>('epsilon'),
  engine: $<HTMLSelectElement>('engine'),
  preview: $<HTMLInputElement>('preview-each'),
};
const buttons = {
  generate: $<HTMLButtonElement>('generate'),
  cancel: $<HTMLButtonElement>('cancel'),
  download: $<HTMLButtonElement>('download'),
  edit: $<HTMLButtonElement>('edit'),
};
const hub = {
  model: $<HTMLSelectElement>('hub-model'),
  endpoint: $<HTMLInputElement>('hub-endpoint'),
  open: $<HTMLButtonElement>('hub-open'),
};
const editField = { mode: $<HTMLSelectElement>('edit-mode'), class: $<HTMLSelectElement>('edit-class') };
const before = $<HTMLCanvasElement>('before');
const pictureMessage = $('picture-message');
const boxEditor = new BoxEditor({
  area: $('editor'),
  box: $('box'),
  fields: [
    $<HTMLInputElement>('box-y0'),
    $<HTMLInputElement>('box-x0'),
    $<HTMLInputElement>('box-y1'),
    $<HTMLInputElement>('box-x1'),
  ],
});
const out = {
  preview: $<HTMLCanvasElement>('preview'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $('progress-text'),
  results: $('results'),
  error: $('error'),
  timing: $('timing'),
  share: $<HTMLAnchorElement>('share'),
  traceBody: $<HTMLTableElement>('trace').tBodies[0],
  traceSummary: $('trace-summary'),
  modelLabel: $('model-label'),
  modelMessage: $('model-message'),
  gpuStatus: $('gpu-status'),
};

type State = 'loading' | 'ready' | 'running' | 'done' | 'cancelled' | 'error';
function setState(s: State): void {
  root.dataset.state = s;
  const busy = s === 'running' || s === 'loading';
  buttons.generate.disabled = busy || !model;
  buttons.edit.disabled = busy || !model || !modelPicture;
  buttons.cancel.disabled = s !== 'running';
  hub.open.disabled = busy || !worker;
}

function showError(message: string): void {
  out.error.textContent = message;
  setState('error');
}

// ---- environment ----------------------------------------------------------------------------------
const env = detectEnvironment();
const noticeBox = $('notices');
for (const n of notices(env)) {
  const p = document.createElement('p');
  p.className = `notice ${n.level}`;
  p.id = `notice-${n.id}`;
  p.textContent = n.text;
  noticeBox.append(p);
}
if (!env.simd) {
  const wasmOption = field.engine.querySelector<HTMLOptionElement>('option[value="wasm"]')!;
  wasmOption.disabled = true;
  wasmOption.textContent += ' (needs WebAssembly SIMD)';
  field.engine.value = 'js';
}

// onnxruntime-web's native WebGPU execution provider is offered only where the browser gives an adapter; the option
// names the adapter, or says why there is none.
{
  const option = field.engine.querySelector<HTMLOptionElement>('option[value="onnx-webgpu"]')!;
  const gpu = (
    navigator as unknown as { gpu?: { requestAdapter(): Promise<Parameters<typeof adapterName>[0] | null> } }
  ).gpu;
  const none = (why: string) => void (option.textContent = `ONNX Runtime Web (WebGPU: no adapter here, ${why})`);
  if (!gpu)
    none(
      `this browser has no WebGPU${isSecureContext ? '' : ' on a page that is not a secure context (https or localhost)'}`,
    );
  else
    gpu.requestAdapter().then(
      (a) =>
        a
          ? ((option.disabled = false), (option.textContent = `ONNX Runtime Web (WebGPU on ${adapterName(a)})`))
          : none('the browser found no usable GPU (disabled, blocklisted or absent)'),
      (e: Error) => none(`requestAdapter failed: ${e.message}`),
    );
}

// ---- URL request ----------------------------------------------------------------------------------
let request: UrlRequest = { settings: {}, autorun: false };
let urlError: string | null = null;
try {
  request = parseUrl(location.search);
} catch (err) {
  urlError = (err as Error).message;
}

// ---- worker ---------------------------------------------------------------------------------------
let model: ModelInfo | null = null;
let current = 0;
let lastSettings: GenerateSettings | null = null;
/** What the last run was: a generation, or an edit of this picture (shown as "before" beside the results). */
let lastEdit: ModelPicture | null = null;
let picture: Picture | null = null;
let modelPicture: ModelPicture | null = null;
const worker =
  env.workers && env.wasm ? new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module' }) : null;
const send = (m: ToWorker) => worker?.postMessage(m);

function fillClasses(info: ModelInfo): void {
  const opts = Array.from(
    { length: info.numClasses },
    (_, i) => new Option(info.classNames?.[i] ? `${i} · ${info.classNames[i]}` : `class ${i}`, String(i)),
  );
  opts.push(new Option('unconditional', String(info.numClasses)));
  field.class.replaceChildren(...opts);
  // The edit's class: unconditional unless asked (as the CLI's edit), keeping a choice that still exists.
  const previous = editField.class.value;
  editField.class.replaceChildren(...opts.map((o) => new Option(o.text, o.value)));
  editField.class.value = previous !== '' && Number(previous) < info.numClasses ? previous : String(info.numClasses);
}

function applySettings(s: Partial<GenerateSettings>): void {
  if (s.seed !== undefined) field.seed.value = String(s.seed);
  if (s.batch !== undefined) field.batch.value = String(s.batch);
  if (s.cfg !== undefined) field.cfg.value = String(s.cfg);
  if (s.topK !== undefined) field.topK.value = String(s.topK);
  if (s.topP !== undefined) field.topP.value = String(s.topP);
  if (s.moreSmooth !== undefined) field.smooth.checked = s.moreSmooth;
  if (s.backend !== undefined) field.backend.value = s.backend;
  if (s.epsilon !== undefined) field.epsilon.value = String(s.epsilon);
  if (s.engine !== undefined) field.engine.value = s.engine;
  if (s.preview !== undefined) field.preview.checked = s.preview;
}

/** Core's defaults where the model has none (GENERATE_DEFAULTS), so an empty field never means "unset". */
const CORE_DEFAULTS = { cfg: 1.5, topK: 900, topP: 0.96, moreSmooth: false };
const modelDefaults = () => ({ ...CORE_DEFAULTS, ...(model?.defaults ?? {}) });

function onModel(info: ModelInfo, first: boolean): void {
  model = info;
  if (!first && root.dataset.hub === 'loading') root.dataset.hub = 'ready';
  fillClasses(info);
  applySettings(modelDefaults());
  out.modelLabel.textContent = `${info.label}: ${info.numClasses} classes, ${info.imageSize}×${info.imageSize} px, ${info.patchNums.length} scales (${info.patchNums.join(', ')})`;
  $('use-shipped').hidden = info.shipped;
  boxEditor.setGrid(info.patchNums.at(-1)!);
  if (picture && modelPicture?.side !== info.imageSize) void preparePicture(picture);
  out.modelMessage.textContent = '';
  out.modelMessage.classList.remove('bad');
  setState('ready');
  if (!first && afterHub && !info.shipped) {
    afterHub = false;
    applyRequest(info);
  }
  if (!first) return;
  send({ type: 'probe-gpu' });
  if (urlError) return showError(urlError);
  if (request.model) {
    // the URL names a released model: open it (for the URL's engine: its fit is checked before downloading), then
    // apply the class (the model's own) and autorun
    try {
      applySettings(request.settings);
    } catch (err) {
      return showError((err as Error).message);
    }
    afterHub = true;
    void openHub(request.model);
    return;
  }
  applyRequest(info);
}

/** The URL's settings and class on the loaded model, then its autorun. */
function applyRequest(info: ModelInfo): void {
  try {
    applySettings(request.settings);
    if (request.classValue !== undefined)
      field.class.value = String(resolveClass(request.classValue, info.numClasses, info.classNames));
  } catch (err) {
    return showError((err as Error).message);
  }
  if (request.autorun) start();
}

function numberField(input: HTMLInputElement, name: string, o: { int?: boolean; min: number; max?: number }): number {
  const v = input.valueAsNumber;
  if (!Number.isFinite(v) || (o.int && !Number.isInteger(v)) || v < o.min || (o.max !== undefined && v > o.max)) {
    input.focus();
    throw new Error(
      `${name} must be ${o.int ? 'an integer' : 'a number'} ${o.max === undefined ? `≥ ${o.min}` : `from ${o.min} to ${o.max}`}`,
    );
  }
  return v;
}

function readSettings(): GenerateSettings {
  return {
    classIndex: Number(field.class.value),
    seed: numberField(field.seed, 'Seed', { int: true, min: 0, max: 2 ** 32 - 1 }),
    batch: numberField(field.batch, 'Batch', { int: true, min: 1, max: 16 }),
    cfg: numberField(field.cfg, 'CFG', { min: 0 }),
    topK: numberField(field.topK, 'Top-k', { int: true, min: 0 }),
    topP: numberField(field.topP, 'Top-p', { min: 0, max: 1 }),
    moreSmooth: field.smooth.checked,
    backend: field.backend.value as BackendChoice,
    epsilon: numberField(field.epsilon, 'ε', { min: Number.MIN_VALUE }),
    engine: field.engine.value as EngineId,
    preview: field.preview.checked,
  };
}

/** Starts a generation, or with `edit` an edit of the open picture with the same settings. */
function start(edit = false): void {
  if (!model || root.dataset.state === 'running') return;
  let settings: GenerateSettings;
  let mode: EditMode = 'inpaint';
  try {
    settings = readSettings();
    if (edit) {
      if (!modelPicture)
        throw new Error('open a picture to edit first (the Open a picture… button, or drop one on the page)');
      settings.classIndex = Number(editField.class.value);
      if (editField.mode.value === 'class' && settings.classIndex === model.numClasses) {
        editField.class.focus();
        throw new Error('change class needs a class to draw the box as: pick one under "Draw the new part as"');
      }
      mode = editField.mode.value === 'outpaint' ? 'outpaint' : 'inpaint';
    }
  } catch (err) {
    return showError((err as Error).message);
  }
  current++;
  lastSettings = settings;
  lastEdit = edit ? modelPicture : null;
  out.error.textContent = '';
  out.timing.textContent = '';
  out.results.replaceChildren();
  buttons.download.disabled = true;
  delete root.dataset.scale;
  out.progress.max = model.patchNums.length;
  out.progress.value = 0;
  out.progressText.textContent = edit
    ? `encoding the picture, then scale 0 of ${model.patchNums.length}`
    : `scale 0 of ${model.patchNums.length}`;
  // Edits have no shareable link (the picture is the user's); generations do.
  out.share.hidden = edit;
  if (!edit) {
    history.replaceState(null, '', toQuery(settings, modelDefaults(), false));
    out.share.href = toQuery(settings, modelDefaults(), true);
  }
  setState('running');
  if (edit) {
    // On a phone the preview (the after picture) is far above the editor: bring it into view.
    const r = out.preview.getBoundingClientRect();
    if (r.bottom < 0 || r.top > innerHeight) out.preview.scrollIntoView({ block: 'nearest' });
  }
  if (edit)
    send({
      type: 'edit',
      id: current,
      settings,
      edit: { side: modelPicture!.side, rgba: modelPicture!.rgba, box: boxEditor.box, mode },
    });
  else send({ type: 'generate', id: current, settings });
}

function resultLink(src: string, alt: string, download: string): HTMLAnchorElement {
  const a = document.createElement('a');
  const img = document.createElement('img');
  img.src = src;
  img.alt = alt;
  a.href = src;
  a.download = download;
  a.title = 'download this image';
  a.append(img);
  return a;
}

function showResults(images: Images): void {
  const s = lastSettings!;
  const what = lastEdit
    ? `edit (${editField.mode.selectedOptions[0]?.text.split(':')[0]}) as ${editField.class.selectedOptions[0]?.text ?? 'class'}`
    : (field.class.selectedOptions[0]?.text ?? 'class');
  const name = lastEdit
    ? `nextscale-edit-class${s.classIndex}-seed${s.seed}`
    : `nextscale-class${s.classIndex}-seed${s.seed}`;
  const links = images.rgba.map((px, i) => {
    const a = resultLink(
      pngDataUrl(images.side, px),
      `${what}, seed ${s.seed}${images.rgba.length > 1 ? `, sample ${i + 1}` : ''}`,
      `${name}${images.rgba.length > 1 ? `-${i}` : ''}.png`,
    );
    const img = a.querySelector('img')!;
    img.width = img.height = images.side;
    if (i === 0) img.id = 'result';
    return a;
  });
  if (lastEdit) {
    // Before and after side by side: the picture as the model saw it, then the edits.
    const b = resultLink(
      pngDataUrl(lastEdit.side, lastEdit.rgba),
      "before the edit (the picture at the model's size)",
      'nextscale-edit-input.png',
    );
    b.className = 'before-thumb';
    b.querySelector('img')!.id = 'before-result';
    links.unshift(b);
  }
  out.results.replaceChildren(...links);
}

// ---- the picture to edit ----------------------------------------------------------------------------
async function preparePicture(p: Picture): Promise<void> {
  if (!model) return;
  try {
    const m = await toModelSize(p, model.imageSize);
    if (picture !== p) return; // another picture was opened meanwhile
    modelPicture = m;
    const c = imageCanvas(m.side, m.rgba);
    before.width = before.height = m.side;
    before.getContext('2d')!.drawImage(c, 0, 0);
    pictureMessage.textContent = m.note;
    pictureMessage.classList.remove('bad');
    root.dataset.picture = 'ready';
  } catch (err) {
    pictureMessage.textContent = (err as Error).message;
    pictureMessage.classList.add('bad');
  }
  setState((root.dataset.state as State) ?? 'ready');
}

async function openPictureFile(file: File): Promise<void> {
  pictureMessage.textContent = `opening ${file.name}…`;
  pictureMessage.classList.remove('bad');
  try {
    const p = await openPicture(file);
    picture?.bitmap.close();
    picture = p;
    await preparePicture(p);
  } catch (err) {
    pictureMessage.textContent = (err as Error).message;
    pictureMessage.classList.add('bad');
  }
}

const isPicture = (f: File) => f.type.startsWith('image/') || /\.(png|jpe?g|webp|gif|bmp)$/i.test(f.name);

worker?.addEventListener('message', (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'model':
      onModel(m.info, model === null);
      return;
    case 'model-error':
      out.modelMessage.textContent = m.message;
      out.modelMessage.classList.add('bad');
      if (root.dataset.hub === 'loading') {
        root.dataset.hub = 'error';
        out.progressText.textContent = 'idle';
      }
      if (!model || afterHub) {
        afterHub = false;
        showError(m.message);
      } else if (root.dataset.state === 'loading') setState('ready');
      return;
    case 'loading':
      out.modelMessage.textContent = m.what;
      out.modelMessage.classList.remove('bad');
      return;
    case 'download':
      out.progress.max = Math.max(1, m.total);
      out.progress.value = m.loaded;
      out.progressText.textContent = `${m.file}: ${formatBytes(m.loaded)}/${formatBytes(m.total)}, ${formatBytes(m.rate)}/s, ETA ${m.etaS === null ? '?' : seconds(m.etaS)}`;
      return;
    case 'gpu':
      out.gpuStatus.textContent = `gpu backend: ${m.detail}`;
      field.backend.querySelector<HTMLOptionElement>('option[value="gpu"]')!.textContent =
        `gpu: gpu.js (${m.available ? 'available' : 'unavailable here'})`;
      return;
  }
  if (m.id !== current) return;
  switch (m.type) {
    case 'scale':
      if (m.images) drawGrid(out.preview, m.images);
      root.dataset.scale = String(m.scale);
      out.progress.value = m.scale;
      out.progressText.textContent = `scale ${m.scale} of ${m.scales}${m.scale === m.scales ? '' : ` (${model!.patchNums[m.scale - 1]}×${model!.patchNums[m.scale - 1]} tokens)`}`;
      return;
    case 'done':
      showResults(m.images);
      renderTrace(out.traceBody, out.traceSummary, m.trace, m.policy, m.memory ? `${m.engine}; ${m.memory}` : m.engine);
      out.timing.textContent = `${m.images.rgba.length} image${m.images.rgba.length === 1 ? '' : 's'} in ${(m.ms / 1000).toFixed(2)} s`;
      // the stages in the tooltip (one line keeps the layout still at phone width) and for the benchmark
      out.timing.title = `transformer ${(m.stages.transformer / 1000).toFixed(2)} s, decode ${(m.stages.decode / 1000).toFixed(2)} s`;
      Object.assign(out.timing.dataset, {
        ms: String(m.ms),
        transformer: String(m.stages.transformer),
        decode: String(m.stages.decode),
      });
      out.progressText.textContent = `done: ${m.images.side}×${m.images.side} px`;
      buttons.download.disabled = false;
      setState('done');
      return;
    case 'cancelled':
      out.progressText.textContent = `cancelled after ${m.scale} of ${model!.patchNums.length} scales`;
      setState('cancelled');
      return;
    case 'error':
      showError(m.message);
      return;
  }
});
worker?.addEventListener('error', (ev) =>
  showError(`the generation worker failed to start: ${ev.message || 'see the browser console'}; reload the page`),
);

// ---- released models by name ---------------------------------------------------------------------------
/** The released names, plus or replaced by the entries of the catalogue= URL's JSON (as NEXTSCALE_MODELS_FILE). */
let catalogue: ModelEntry[] = [...RELEASED_MODELS];
/** The URL named a model: autorun (and the URL's class) wait for it, and its failure is the page's error. */
let afterHub = false;

function seconds(s: number): string {
  const whole = Math.ceil(s);
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

function fillHubModels(): void {
  const previous = hub.model.value;
  hub.model.replaceChildren(
    ...catalogue.map(
      (e) =>
        new Option(
          `${e.name} · ${e.resolution ? `${e.resolution} px, ` : ''}${formatBytes(e.bytes.var + e.bytes.vae)}`,
          e.name,
        ),
    ),
  );
  if (catalogue.some((e) => e.name === previous)) hub.model.value = previous;
}

async function loadCatalogue(url: string): Promise<void> {
  const what = `the catalogue ${url}`;
  const fix = 'fix the JSON (an array of { name, repo, files: { var, vae }, … }) or remove catalogue= from the URL';
  const response = await fetch(url).catch((err: Error) => {
    throw new Error(`${what}: ${err.message}; ${fix}`);
  });
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}; ${fix}`);
  const raw = await response.json().catch((err: Error) => {
    throw new Error(`${what}: ${err.message}; ${fix}`);
  });
  const byName = new Map(catalogue.map((e) => [e.name, e]));
  for (const e of parseCatalogue(raw, { source: url, what, fix })) byName.set(e.name, e);
  catalogue = [...byName.values()];
  fillHubModels();
}
/** The catalogue= URL's entries, read once at start; a failure is reported when a model is opened. */
const catalogueRead = request.catalogue ? loadCatalogue(request.catalogue) : Promise.resolve();
catalogueRead.catch(() => undefined);

/** Opens a released model by name from the hub in the Hub field (or the browser's cache). */
async function openHub(name: string): Promise<void> {
  try {
    await catalogueRead;
    const entry = findModel(name, catalogue);
    hub.model.value = entry.name;
    const endpoint = hubEndpoint(hub.endpoint.value || DEFAULT_ENDPOINT);
    out.modelMessage.textContent = `opening ${entry.name} from ${endpoint}…`;
    out.modelMessage.classList.remove('bad');
    out.progress.value = 0;
    root.dataset.hub = 'loading';
    setState('loading');
    send({
      type: 'load-hub',
      entry,
      endpoint,
      engine: field.engine.value as EngineId,
      ...(request.chunkKiB ? { chunkBytes: request.chunkKiB * 1024 } : {}),
    });
  } catch (err) {
    const e = err as Error & { fix?: string };
    const text = e.fix ? `${e.message}; ${e.fix}` : e.message;
    out.modelMessage.textContent = text;
    out.modelMessage.classList.add('bad');
    if (afterHub) {
      afterHub = false;
      showError(text);
    }
  }
}

fillHubModels();
hub.endpoint.value = request.hub ?? DEFAULT_ENDPOINT;
hub.open.addEventListener('click', () => void openHub(hub.model.value));

// ---- controls -------------------------------------------------------------------------------------
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  start();
});
buttons.edit.addEventListener('click', () => start(true));
buttons.cancel.addEventListener('click', () => send({ type: 'cancel', id: current }));
buttons.download.addEventListener('click', () => {
  const first = out.results.querySelector('a');
  first?.click();
});
$('reseed').addEventListener('click', () => {
  field.seed.value = String(Math.floor(Math.random() * 2 ** 31));
});
$('use-shipped').addEventListener('click', () => {
  out.modelMessage.textContent = 'loading the shipped model…';
  send({ type: 'use-shipped' });
});

function openFiles(files: FileList | File[] | null | undefined): void {
  const list = [...(files ?? [])];
  if (!list.length || !worker) return;
  out.modelMessage.textContent = `opening ${list.map((f) => f.name).join(', ')}…`;
  out.modelMessage.classList.remove('bad');
  send({ type: 'load-files', files: list });
}
const input = $<HTMLInputElement>('weights-input');
input.addEventListener('change', () => {
  openFiles(input.files);
  input.value = '';
});
const pictureInput = $<HTMLInputElement>('picture-input');
pictureInput.addEventListener('change', () => {
  const f = pictureInput.files?.[0];
  if (f) void openPictureFile(f);
  pictureInput.value = '';
});
const dropzone = $('dropzone');
document.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  dropzone.classList.add('over');
});
document.addEventListener('dragleave', (ev) => {
  if (!ev.relatedTarget) dropzone.classList.remove('over');
});
document.addEventListener('drop', (ev) => {
  ev.preventDefault();
  dropzone.classList.remove('over');
  // Pictures go to the editor, everything else is taken for weights.
  const files = [...(ev.dataTransfer?.files ?? [])];
  const pic = files.find(isPicture);
  if (pic) void openPictureFile(pic);
  openFiles(files.filter((f) => !isPicture(f)));
});

// ---- offline ----------------------------------------------------------------------------------------
// The built app registers its service worker (dist/sw.js), which caches every file of the build; the
// footer says once the page will work offline. The dev server has no sw.js.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker
    .register('./sw.js')
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      root.dataset.offline = 'ready';
      $('offline-status').textContent =
        'This page and the shipped model are saved in the browser: it reloads and generates offline.';
    })
    .catch(() => {
      $('offline-status').textContent =
        'Offline use is unavailable here (the browser refused the service worker); the page works online as usual.';
    });
}

// ---- go -------------------------------------------------------------------------------------------
if (!worker) showError(notices(env).find((n) => n.level === 'error')?.text ?? 'this browser cannot run the generator');
else {
  setState('loading');
  send({
    type: 'init',
    modelBase: new URL('models/fashion-mnist/', document.baseURI).href,
    ortBase: new URL('ort/', document.baseURI).href,
    env: { simd: env.simd, crossOriginIsolated: env.crossOriginIsolated },
  });
}
