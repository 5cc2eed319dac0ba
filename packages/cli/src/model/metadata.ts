/**
 * What a model ships in its safetensors `__metadata__` (all values are strings): the patch schedule,
 * class names and default sampling settings. Keys are read leniently (snake_case or camelCase, JSON
 * or comma lists, flat, with a `default_` prefix, or under a JSON `sampling` object).
 */
import { MAX_SEED } from '@nextscale/core/models';
import type { SamplingKey } from '../config/resolve.js';

/**
 * A sampling default the metadata sets to something no flag accepts: kept (not dropped) so that using
 * it is an error naming the key, while a flag, the environment or the config file can still override it.
 */
export class InvalidDefault {
  constructor(
    /** e.g. `default_cfg "-5"`: the key and the value as the file holds them. */
    readonly found: string,
    /** What the value must be, e.g. `a number of at least 0`. */
    readonly expected: string,
  ) {}
}

export interface ModelMetadata {
  patchNums?: number[];
  classNames?: string[];
  numHeads?: number;
  sampling: Partial<Record<SamplingKey, number | boolean | InvalidDefault>>;
}

/** What each sampling default must be: the ranges the flags accept. */
const VALID: Record<Exclude<SamplingKey, 'moreSmooth'>, [(n: number) => boolean, string]> = {
  cfg: [(n) => n >= 0, 'a number of at least 0'],
  topK: [(n) => Number.isInteger(n) && n >= 0, 'an integer of at least 0'],
  topP: [(n) => n >= 0 && n <= 1, 'a number from 0 to 1'],
  seed: [(n) => Number.isInteger(n) && n >= 0 && n <= MAX_SEED, `an integer from 0 to ${MAX_SEED}`],
};

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
  if (typeof v === 'string')
    v =
      parseJson(v) ??
      v
        .split(/[,\s]+/)
        .filter(Boolean)
        .map(Number);
  if (!Array.isArray(v) || !v.length) return undefined;
  const nums = v.map(Number);
  return nums.every((n) => Number.isInteger(n) && n > 0) ? nums : undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') v = parseJson(v) ?? v.split(',').map((s) => s.trim());
  if (Array.isArray(v)) return v.length && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  if (v && typeof v === 'object') {
    // {"0": "T-shirt/top", "1": ...}
    const entries = Object.entries(v as Record<string, unknown>).filter(
      ([k, x]) => /^\d+$/.test(k) && typeof x === 'string',
    );
    if (!entries.length) return undefined;
    const out: string[] = [];
    for (const [k, x] of entries) out[Number(k)] = x as string;
    return out.every((x) => typeof x === 'string') ? out : undefined;
  }
  return undefined;
}

function scalar(raw: unknown, key: SamplingKey, name: string): number | boolean | InvalidDefault {
  const v = typeof raw === 'string' ? (parseJson(raw) ?? raw) : raw;
  const invalid = (expected: string) => new InvalidDefault(`${name} ${JSON.stringify(raw)}`.slice(0, 80), expected);
  if (key === 'moreSmooth') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 1) return true;
    if (v === 'false' || v === 0) return false;
    return invalid('true or false');
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  const [ok, expected] = VALID[key];
  return Number.isFinite(n) && ok(n) ? n : invalid(expected);
}

function pick(obj: Record<string, unknown>, names: string[]): unknown {
  return obj[pickName(obj, names) ?? ''];
}

function pickName(obj: Record<string, unknown>, names: string[]): string | undefined {
  return names.find((n) => obj[n] !== undefined);
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
    const aliases = SAMPLING_ALIASES[key].flatMap((a) => [
      a,
      `default_${a}`,
      `default${a[0].toUpperCase()}${a.slice(1)}`,
    ]);
    const where = [m, ...nested].find((o) => pickName(o, aliases) !== undefined);
    if (where) out.sampling[key] = scalar(pick(where, aliases), key, pickName(where, aliases)!);
  }
  return out;
}
