/**
 * How a fused block's rows are split over session calls (issue #24, batches). A block call's largest intermediates
 * grow with rows × tokens: the FFN's hidden activations (rows·T·hidden floats) and the Attention op's probabilities
 * (rows·heads·T·(P+T) floats, one buffer for the whole call). At d16's last scale with 16 CFG rows those are 64 and
 * 178 MiB: they stream from memory instead of the 16 MiB L3, and above glibc's 32 MiB mmap ceiling every call maps
 * fresh pages (page faults, ~5% system time). Measured on one block (scripts/bench/onnx-block-rows.mjs, CPU time per
 * row, N=16 against N=2): 1.23× unsplit, 1.04× in calls of 2 rows. Small scales stay whole: there the weights are
 * the traffic, and one call for all rows reads them once. (The block's attention is now MLAS's flash attention, which
 * keeps no probabilities buffer; the bound still counts one, so the chunks stay those measured. Re-measure before
 * dropping that term.)
 *
 * The rows of a block are independent (each batch row attends to its own cache), so splitting changes no value: the
 * MatMuls are batch-invariant (prepacked weights) and the attention is per (row, head).
 *
 * Chunks are powers of two rows, aligned to their size; they never grow from one scale to the next for one cache (the
 * per-row bytes grow with T and P).
 */

/** The most bytes a call's largest intermediate may take (below the L3-sized and mmap-threshold cliffs measured). */
export const CALL_BYTES = 24 * 2 ** 20;

/** Rows per session call: the largest power of two ≤ rows whose largest intermediate fits CALL_BYTES (at least 1). */
export function rowsPerCall(
  rows: number,
  tokens: number,
  past: number,
  shape: { heads: number; hidden: number },
  budget = CALL_BYTES,
): number {
  const perRow = 4 * tokens * Math.max(shape.hidden, shape.heads * (past + tokens));
  let n = 1;
  while (n * 2 <= rows && n * 2 * perRow <= budget) n *= 2;
  return n;
}

/** The [start, end) row ranges of the calls for `rows` rows in chunks of `chunk`. */
export function rowChunks(rows: number, chunk: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += chunk) out.push([r, Math.min(rows, r + chunk)]);
  return out;
}
