/**
 * A model's own sampling defaults from its safetensors metadata, read as the CLI reads them (cfg,
 * top_k, top_p, more_smooth; flat, with a `default_` prefix, or under a JSON `sampling` object), so that
 * the page's defaults give the CLI's images.
 */
import type { ModelInfo } from '../protocol.js';

const KEYS = {
  cfg: ['cfg', 'guidance', 'cfg_scale'],
  topK: ['top_k', 'topK', 'topk'],
  topP: ['top_p', 'topP', 'topp'],
  moreSmooth: ['more_smooth', 'moreSmooth'],
} as const;

function json(s: unknown): unknown {
  if (typeof s !== 'string') return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

export function samplingDefaults(meta: Record<string, string>): ModelInfo['defaults'] {
  const nested = ['sampling', 'default_sampling', 'defaults']
    .map((k) => json(meta[k]))
    .filter((v): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v));
  const out: ModelInfo['defaults'] = {};
  for (const [key, names] of Object.entries(KEYS) as [keyof typeof KEYS, readonly string[]][]) {
    const aliases = names.flatMap((a) => [a, `default_${a}`, `default${a[0].toUpperCase()}${a.slice(1)}`]);
    let raw: unknown;
    for (const src of [meta as Record<string, unknown>, ...nested])
      raw ??= aliases.map((a) => src[a]).find((v) => v !== undefined);
    const v = json(raw);
    if (v === undefined) continue;
    if (key === 'moreSmooth') {
      if (v === true || v === 'true' || v === 1) out.moreSmooth = true;
      else if (v === false || v === 'false' || v === 0) out.moreSmooth = false;
    } else if (Number.isFinite(Number(v))) out[key] = Number(v);
  }
  return out;
}
