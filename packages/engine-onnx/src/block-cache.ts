/**
 * A fused block's KV cache, held here rather than in ONNX Runtime (issue #24, batches): one buffer per batch row for
 * keys and one for values, (capacity, C) row-major: token-major with the heads side by side, the block graph's 3-D
 * layout. Reserved once at the generation's full length when the caller knows it, so a scale appends its T tokens in
 * place, and a one-row call's past is a view (no copy). Before, the cache was the graph's present_key/present_value:
 * ORT concatenated the whole past into a new tensor every scale, onnxruntime-node copied it out again, and the old and
 * new caches were alive together (at B=8 on d16, 89 MiB per block).
 */
export class BlockCache {
  /** Tokens cached per row. */
  tokens = 0;
  /** Set by the generation's last step, whose keys and values are not kept: a step after it would miss them. */
  closed = false;
  private readonly key: Float32Array[] = [];
  private readonly value: Float32Array[] = [];

  constructor(
    readonly rows: number,
    /** Floats per token (the model width C). */
    readonly width: number,
    private capacity: number,
  ) {
    for (let r = 0; r < rows; r++) {
      this.key.push(new Float32Array(capacity * width));
      this.value.push(new Float32Array(capacity * width));
    }
  }

  /** Room for `total` tokens per row (a caller that did not say the full length grows it here, copying). */
  reserve(total: number): void {
    if (total <= this.capacity) return;
    for (const buffers of [this.key, this.value])
      for (const [r, old] of buffers.entries()) {
        const grown = new Float32Array(total * this.width);
        grown.set(old.subarray(0, this.tokens * this.width));
        buffers[r] = grown;
      }
    this.capacity = total;
  }

  /** Rows [start, end)'s cached keys (or values), (end − start, tokens, C): a view for one row, gathered for more. */
  past(which: 'key' | 'value', start: number, end: number): Float32Array {
    const n = this.tokens * this.width;
    const buffers = this[which];
    if (end - start === 1) return buffers[start]!.subarray(0, n);
    const out = new Float32Array((end - start) * n);
    for (let r = start; r < end; r++) out.set(buffers[r]!.subarray(0, n), (r - start) * n);
    return out;
  }

  /** Writes rows [start, end)'s `added` new tokens ((end − start, added, C) keys and values) after the cached ones. */
  write(start: number, end: number, added: number, key: Float32Array, value: Float32Array): void {
    const n = added * this.width;
    const at = this.tokens * this.width;
    for (let r = start; r < end; r++) {
      this.key[r]!.set(key.subarray((r - start) * n, (r - start + 1) * n), at);
      this.value[r]!.set(value.subarray((r - start) * n, (r - start + 1) * n), at);
    }
  }

  get bytes(): number {
    return 2 * this.rows * this.capacity * this.width * 4;
  }
}
