/**
 * The attention job runner (assembly/attention.ts), run by the calling thread and every worker of the pool (see
 * @nextscale/wasm-runtime's control block): tasks are (slice, query segment) pairs, slice-major, taken from a
 * shared counter; the segment table (query rows [i0, i1) seeing keys [0, n)) sits at slot SegTable, the scale as a
 * float64 at ScaleF64. Each output row is computed by one task in a fixed order, so the split never changes a bit.
 *
 * `runAttentionJob` must stay self-contained (no imports, no closures): the pool ships its source text to the
 * workers, so it spells the slot numbers out.
 */
import type { AttentionExports } from './modules.js';

export const KIND_ATTN = 3;

/** Runs this thread's share of the attention job in `ctl`; `slot` is 0 for the calling thread, 1.. for workers. */
export function runAttentionJob(ctl: Int32Array, ex: AttentionExports, slot: number): void {
  const m = ctl[2],
    n = ctl[3];
  const a = ctl[5],
    lda = ctl[6],
    b = ctl[7],
    p = ctl[9],
    c = ctl[10];
  const width = ctl[15],
    tasks1 = ctl[16];
  let ran = 0;
  // a: q, b: k, p: v, c: out; m: query rows per slice, n: key rows per slice, lda: row stride d8
  const rowBytes = lda * 4;
  const scale = new Float64Array(ctl.buffer, ctl.byteOffset + 160, 1)[0];
  const scratch = ctl[19] + slot * ctl[20];
  for (;;) {
    const t = Atomics.add(ctl, 32, 1);
    if (t >= tasks1) break;
    const bh = Math.floor(t / width);
    const g = 1024 + (t % width) * 3;
    const i0 = ctl[g];
    const q0 = a + (bh * m + i0) * rowBytes;
    const kv = bh * n * rowBytes;
    ex.attendRows(q0, b + kv, p + kv, c + (bh * m + i0) * rowBytes, ctl[g + 1] - i0, ctl[g + 2], lda, scale, scratch);
    ran++;
  }
  ctl[64 + slot * 4 + 3] = ctl[64 + slot * 4 + 3] + ran;
}
