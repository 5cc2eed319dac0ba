import type { AttentionMask } from '@nextscale/core';
import type { QuerySegment } from './wasm/attention.js';

/**
 * Query rows grouped by the keys they see: one segment for no mask (all Lk keys), one per scale for a block-causal
 * mask (the queries of a scale see every key up to that scale's end, their own scale included).
 */
export function querySegments(mask: AttentionMask, Lq: number, Lk: number): QuerySegment[] {
  if (mask.kind === 'none') return [{ start: 0, end: Lq, keys: Lk }];
  const out: QuerySegment[] = [];
  let start = 0;
  for (const end of mask.scaleEnds) {
    out.push({ start, end, keys: end });
    start = end;
  }
  return out;
}

/** Per query row, the number of keys it sees (for the scalar kernel). */
export function visibleFromSegments(segments: readonly QuerySegment[], Lq: number): (i: number) => number {
  const keys = new Int32Array(Lq);
  for (const s of segments) keys.fill(s.keys, s.start, s.end);
  return (i) => keys[i];
}
