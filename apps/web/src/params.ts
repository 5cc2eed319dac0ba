/**
 * URL parameters, for sharing and for tests: `?class=<n|name>&seed=<s>&cfg=…&topk=…&topp=…&smooth&batch=…
 * &backend=norm|cpu|lowrank|gpu&epsilon=…&engine=wasm|js|onnx|onnx-webgpu&preview=0&autorun`. A bad value is an error
 * naming the parameter and what it accepts, never a silent default.
 */
import type { BackendChoice, EngineId, GenerateSettings } from './protocol.js';

export interface UrlRequest {
  /** A class number or a name, resolved once the model's classes are known. */
  classValue?: string;
  settings: Partial<Omit<GenerateSettings, 'classIndex'>>;
  autorun: boolean;
  /** A released model by name (model=var-d16), opened from the hub before an autorun. */
  model?: string;
  /** The hub's endpoint (hub=https://…), as HF_ENDPOINT. */
  hub?: string;
  /** A JSON catalogue's URL (catalogue=…) whose entries add or replace names, as NEXTSCALE_MODELS_FILE. */
  catalogue?: string;
  /** The download's chunk in KiB (chunk=…): what a dropped connection can cost; default 16 MiB. */
  chunkKiB?: number;
}

const ALIASES: Record<string, string> = {
  'top-k': 'topk',
  top_k: 'topk',
  'top-p': 'topp',
  top_p: 'topp',
  'more-smooth': 'smooth',
  more_smooth: 'smooth',
  c: 'class',
};
const BACKENDS: BackendChoice[] = ['norm', 'cpu', 'lowrank', 'gpu'];
const ENGINES: EngineId[] = ['wasm', 'js', 'onnx', 'onnx-webgpu'];

function num(name: string, raw: string, o: { int?: boolean; min?: number; max?: number }): number {
  const v = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(v) &&
    (!o.int || Number.isInteger(v)) &&
    (o.min === undefined || v >= o.min) &&
    (o.max === undefined || v <= o.max);
  if (!ok) {
    const range = o.max === undefined ? `≥ ${o.min}` : `in ${o.min}..${o.max}`;
    throw new Error(
      `URL parameter ${name}=${raw} is not ${o.int ? 'an integer' : 'a number'} ${range}; fix or remove it`,
    );
  }
  return v;
}

function flag(name: string, raw: string): boolean {
  if (raw === '' || raw === '1' || raw === 'true' || raw === 'on') return true;
  if (raw === '0' || raw === 'false' || raw === 'off') return false;
  throw new Error(`URL parameter ${name}=${raw} must be 1 or 0 (true or false)`);
}

export function parseUrl(search: string): UrlRequest {
  const req: UrlRequest = { settings: {}, autorun: false };
  const s = req.settings;
  for (const [rawKey, raw] of new URLSearchParams(search)) {
    const key = ALIASES[rawKey] ?? rawKey;
    switch (key) {
      case 'class':
        req.classValue = raw;
        break;
      case 'seed':
        s.seed = num(key, raw, { int: true, min: 0, max: 2 ** 32 - 1 });
        break;
      case 'cfg':
        s.cfg = num(key, raw, { min: 0 });
        break;
      case 'topk':
        s.topK = num(key, raw, { int: true, min: 0 });
        break;
      case 'topp':
        s.topP = num(key, raw, { min: 0, max: 1 });
        break;
      case 'smooth':
        s.moreSmooth = flag(key, raw);
        break;
      case 'batch':
        s.batch = num(key, raw, { int: true, min: 1, max: 16 });
        break;
      case 'epsilon':
        s.epsilon = num(key, raw, { min: Number.MIN_VALUE });
        break;
      case 'preview':
        s.preview = flag(key, raw);
        break;
      case 'backend':
        if (!BACKENDS.includes(raw as BackendChoice))
          throw new Error(`URL parameter backend=${raw} must be one of ${BACKENDS.join(', ')}`);
        s.backend = raw as BackendChoice;
        break;
      case 'engine':
        if (!ENGINES.includes(raw as EngineId))
          throw new Error(`URL parameter engine=${raw} must be one of ${ENGINES.join(', ')}`);
        s.engine = raw as EngineId;
        break;
      case 'autorun':
        req.autorun = flag(key, raw);
        break;
      case 'model':
        req.model = raw;
        break;
      case 'hub':
        req.hub = hubEndpoint(raw);
        break;
      case 'catalogue':
        req.catalogue = raw;
        break;
      case 'chunk':
        req.chunkKiB = num(key, raw, { int: true, min: 64, max: 1 << 20 });
        break;
      default:
        throw new Error(
          `unknown URL parameter '${rawKey}'; the page takes class, seed, cfg, topk, topp, smooth, batch, backend, epsilon, engine, preview, autorun, model, hub, catalogue and chunk`,
        );
    }
  }
  return req;
}

/** A hub endpoint as HF_ENDPOINT takes it: an http(s) URL, without trailing slashes. */
export function hubEndpoint(raw: string): string {
  let u: URL | undefined;
  try {
    u = new URL(raw.trim());
  } catch {}
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.search || u.hash)
    throw new Error(`the hub '${raw}' is not an http(s) URL; use https://huggingface.co or a mirror's address`);
  return u.href.replace(/\/+$/, '');
}

/** The settings as a query string (the model's own defaults left out where they are unchanged). */
export function toQuery(s: GenerateSettings, defaults: Partial<GenerateSettings>, autorun: boolean): string {
  const q = new URLSearchParams();
  q.set('class', String(s.classIndex));
  q.set('seed', String(s.seed));
  if (s.cfg !== defaults.cfg) q.set('cfg', String(s.cfg));
  if (s.topK !== defaults.topK) q.set('topk', String(s.topK));
  if (s.topP !== defaults.topP) q.set('topp', String(s.topP));
  if (s.moreSmooth !== (defaults.moreSmooth ?? false)) q.set('smooth', s.moreSmooth ? '1' : '0');
  if (s.batch !== 1) q.set('batch', String(s.batch));
  if (s.backend !== 'norm') q.set('backend', s.backend);
  if (s.epsilon !== 0.01) q.set('epsilon', String(s.epsilon));
  if (s.engine !== 'wasm') q.set('engine', s.engine);
  if (!s.preview) q.set('preview', '0');
  if (autorun) q.set('autorun', '');
  return `?${q.toString().replace(/autorun=$/, 'autorun')}`;
}

/** A class given by number or by (case-insensitive, punctuation-blind) name or unique prefix. */
export function resolveClass(value: string, numClasses: number, names: string[] | null): number {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n > numClasses)
      throw new Error(
        `class ${n} is out of range: this model has classes 0..${numClasses - 1} (${numClasses} = unconditional)`,
      );
    return n;
  }
  const norm = (x: string) => x.toLowerCase().replace(/[^a-z0-9]+/g, '');
  if (names) {
    const exact = names.findIndex((n) => norm(n) === norm(value));
    if (exact >= 0) return exact;
    const prefix = names.flatMap((n, i) => (norm(value) && norm(n).startsWith(norm(value)) ? [i] : []));
    if (prefix.length === 1) return prefix[0];
  }
  throw new Error(
    `unknown class '${value}'; pass a number 0..${numClasses - 1}${names ? ` or a name (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})` : ''}`,
  );
}
