/**
 * What a model ships in its safetensors `__metadata__` (all values are strings): the patch schedule,
 * class names and default sampling settings. Keys are read leniently (snake_case or camelCase, JSON
 * or comma lists, flat, with a `default_` prefix, or under a JSON `sampling` object).
 */
import type { SamplingKey } from '../config/resolve.js';

export interface ModelMetadata {
  patchNums?: number[];
  classNames?: string[];
  numHeads?: number;
  sampling: Partial<Record<SamplingKey, number | boolean>>;
}

const SAMPLING_ALIASES: Record<SamplingKey, string[]> = {
  cfg: ['cfg', 'guidance', 'cfg_scale'],
  topK: ['top_k', 'topK', 'topk'],
  topP: ['top_p', 'topP', 'topp'],
  seed: ['seed'],
  moreSmooth: ['more_smooth', 'moreSmooth'],
};

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function numberList(v: unknown): number[] | undefined {
  if (typeof v === 'string') v = parseJson(v) ?? v.split(/[,\s]+/).filter(Boolean).map(Number);
  if (!Array.isArray(v) || !v.length) return undefined;
  const nums = v.map(Number);
  return nums.every((n) => Number.isInteger(n) && n > 0) ? nums : undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') v = parseJson(v) ?? v.split(',').map((s) => s.trim());
  if (Array.isArray(v)) return v.length && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  if (v && typeof v === 'object') {
    // {"0": "T-shirt/top", "1": ...}
    const entries = Object.entries(v as Record<string, unknown>).filter(([k, x]) => /^\d+$/.test(k) && typeof x === 'string');
    if (!entries.length) return undefined;
    const out: string[] = [];
    for (const [k, x] of entries) out[Number(k)] = x as string;
    return out.every((x) => typeof x === 'string') ? out : undefined;
  }
  return undefined;
}

function scalar(v: unknown, key: SamplingKey): number | boolean | undefined {
  if (typeof v === 'string') v = parseJson(v) ?? v;
  if (key === 'moreSmooth') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 1) return true;
    if (v === 'false' || v === 0) return false;
    return undefined;
  }
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function pick(obj: Record<string, unknown>, names: string[]): unknown {
  for (const n of names) if (obj[n] !== undefined) return obj[n];
  return undefined;
}

export function parseModelMetadata(meta: Record<string, string> | undefined): ModelMetadata {
  const m: Record<string, unknown> = { ...(meta ?? {}) };
  const nested = [m['sampling'], m['default_sampling'], m['defaults']]
    .map((v) => (typeof v === 'string' ? parseJson(v) : v))
    .filter((v): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v));
  const out: ModelMetadata = { sampling: {} };
  const pn = numberList(pick(m, ['patch_nums', 'patchNums', 'v_patch_nums']));
  if (pn) out.patchNums = pn;
  const names = stringList(pick(m, ['class_names', 'classNames', 'classes', 'labels']));
  if (names) out.classNames = names;
  const heads = Number(pick(m, ['num_heads', 'numHeads']));
  if (Number.isInteger(heads) && heads > 0) out.numHeads = heads;
  for (const key of Object.keys(SAMPLING_ALIASES) as SamplingKey[]) {
    // "cfg", "default_cfg", "defaultCfg"
    const aliases = SAMPLING_ALIASES[key].flatMap((a) => [a, `default_${a}`, `default${a[0]!.toUpperCase()}${a.slice(1)}`]);
    let v = pick(m, aliases);
    for (const n of nested) v ??= pick(n, aliases);
    const parsed = v === undefined ? undefined : scalar(v, key);
    if (parsed !== undefined) out.sampling[key] = parsed;
  }
  return out;
}
