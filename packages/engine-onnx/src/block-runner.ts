/**
 * The fused transformer blocks (block-graph.ts): one ONNX Runtime session per block, built on first use from that
 * block's weights, and each block's KV cache held here between scales as the session's own output tensors
 * (present_key/present_value of one scale are the next scale's past_key/past_value, handed back without a copy). Large
 * scales run in calls of a few rows each (block-rows.ts).
 *
 * The sessions are onnxruntime-node's, made with the engine's session settings (session-options.ts); they are run
 * here rather than through OrtSessions.run because the cache needs the session's extra outputs as tensors.
 */
import type * as Ort from 'onnxruntime-node';
import { transformerBlockGraph, type BlockShape, type BlockWeights } from './block-graph.js';
import type { Reclaim } from './reclaim.js';
import { sessionOptions, type SessionSettings } from './session-options.js';
import { CALL_BYTES, pastRows, rowChunks, rowsPerCall, type CacheSegment } from './block-rows.js';

/** One call of a block: x (batch, tokens, C) and its modulation rows (batch, 6C). */
export interface TransformerBlockArgs {
  weights: BlockWeights;
  shape: BlockShape;
  x: Float32Array;
  batch: number;
  tokens: number;
  modulation: Float32Array;
  /**
   * Next-scale inference: an object the caller keeps for one generation and one block; this scale's keys and values
   * are appended to the cache held under it and the queries attend to all of it. Null: no cache, the call attends
   * within x under `scaleEnds`' block-causal mask (teacher forcing).
   */
  cache: object | null;
  /** Cumulative token counts per scale (teacher forcing only). */
  scaleEnds?: readonly number[];
}

/** A block's KV cache: `tokens` cached per row, in row segments as the calls that made them left them. */
interface KV {
  tokens: number;
  segments: CacheSegment<Float32Array>[];
}

type OrtModule = typeof Ort;

export class BlockRunner {
  /** Sessions by the block's qkv weight (core hands the same array every time). */
  private readonly sessions = new WeakMap<Float32Array, Promise<Ort.InferenceSession>>();
  private readonly caches = new WeakMap<object, KV>();
  /** Zero masks by (tokens, total): next-scale inference attends to everything cached. */
  private zeroMask: { dims: string; tensor: Ort.Tensor } | null = null;
  count = 0;

  constructor(
    /** onnxruntime-node's module, as the engine loaded it (node.ts). */
    private readonly ort: OrtModule,
    private readonly settings: SessionSettings,
    /** The most bytes one call's largest intermediate may take (block-rows.ts; tests pass small ones). */
    private readonly callBytes = CALL_BYTES,
    /** Told of the graphs and KV caches dropped, to give their memory back at once (reclaim.ts). */
    private readonly reclaim: Reclaim | null = null,
  ) {}

  private session(w: BlockWeights, s: BlockShape): Promise<Ort.InferenceSession> {
    let p = this.sessions.get(w.qkvWeight);
    if (!p) {
      const g = transformerBlockGraph(w, s);
      this.count++;
      p = this.ort.InferenceSession.create(
        g.bytes,
        sessionOptions(this.settings, {
          optimization: g.optimization ?? 'basic',
          ...(g.externalData ? { externalData: g.externalData } : {}),
        }) as Ort.InferenceSession.SessionOptions,
      );
      const graphBytes = g.bytes.byteLength; // the serialised graph, dropped once the session holds its weights
      p.then(
        () => this.reclaim?.dropped(graphBytes),
        () => {},
      );
      this.sessions.set(w.qkvWeight, p);
    }
    return p;
  }

  has(w: BlockWeights): boolean {
    return this.sessions.has(w.qkvWeight);
  }

  /** Builds the block's session now (so a caller can time it apart, or release the weights' JavaScript copies). */
  async prepare(w: BlockWeights, s: BlockShape): Promise<void> {
    await this.session(w, s);
  }

  async run(a: TransformerBlockArgs): Promise<Float32Array> {
    const { ort } = this;
    const session = await this.session(a.weights, a.shape);
    const { width: C, heads: H, headDim: hd } = a.shape;
    const N = a.batch;
    const T = a.tokens;
    const past = a.cache ? this.caches.get(a.cache) : undefined;
    const P = past?.tokens ?? 0;
    const mask = a.cache ? this.zeros(ort, T, P + T) : blockCausalMask(ort, T, a.scaleEnds);
    // large scales run in calls of a few rows each (block-rows.ts); each call's keys/values become one cache segment
    const calls = rowChunks(N, rowsPerCall(N, T, P, a.shape, this.callBytes));
    const segments: CacheSegment<Float32Array>[] = [];
    const ys: Float32Array[] = [];
    for (const [r0, r1] of calls) {
      const n = r1 - r0;
      const cached = (which: 'key' | 'value') =>
        new ort.Tensor('float32', past ? pastRows(past.segments, which, r0, r1, H * P * hd) : new Float32Array(0), [
          n,
          H,
          P,
          hd,
        ]);
      const out = await session.run({
        x: new ort.Tensor('float32', a.x.subarray(r0 * T * C, r1 * T * C), [n, T, C]),
        m: new ort.Tensor('float32', a.modulation.subarray(r0 * 6 * C, r1 * 6 * C), [n, 6 * C]),
        past_key: cached('key'),
        past_value: cached('value'),
        mask,
      });
      const [key, value] = [out.present_key!.data, out.present_value!.data] as Float32Array[];
      segments.push({ start: r0, rows: n, key, value });
      ys.push(out.y!.data as Float32Array);
    }
    if (a.cache) {
      this.caches.set(a.cache, { tokens: P + T, segments });
      // the previous scale's cache, replaced by this one (which holds it again, with this scale's keys and values)
      if (past) this.reclaim?.dropped(kvBytes(past));
    }
    if (ys.length === 1) return ys[0]!;
    const y = new Float32Array(N * T * C);
    for (const [i, part] of ys.entries()) y.set(part, calls[i]![0] * T * C);
    return y;
  }

  /** Drops the KV cache held under `cache` (the end of a generation). */
  release(cache: object): void {
    const kv = this.caches.get(cache);
    this.caches.delete(cache);
    if (kv) this.reclaim?.dropped(kvBytes(kv));
  }

  private zeros(ort: OrtModule, T: number, total: number): Ort.Tensor {
    const dims = `${T}×${total}`;
    if (this.zeroMask?.dims !== dims)
      this.zeroMask = { dims, tensor: new ort.Tensor('float32', new Float32Array(T * total), [T, total]) };
    return this.zeroMask.tensor;
  }
}

/** The additive (T, T) mask of teacher forcing: token i sees token j when j's scale is not after i's. */
function blockCausalMask(ort: OrtModule, T: number, scaleEnds: readonly number[] | undefined): Ort.Tensor {
  if (!scaleEnds || scaleEnds.at(-1) !== T) {
    throw new RangeError(`transformerBlock: teacher forcing needs scaleEnds ending at the token count ${T}`);
  }
  const mask = new Float32Array(T * T);
  let start = 0;
  for (const end of scaleEnds) {
    for (let i = start; i < end; i++) mask.fill(-Infinity, i * T + end, (i + 1) * T);
    start = end;
  }
  return new ort.Tensor('float32', mask, [T, T]);
}

function kvBytes(kv: KV): number {
  return kv.segments.reduce((sum, g) => sum + g.key.byteLength + g.value.byteLength, 0);
}

/** The block's weight arrays (those its session holds as initializers). */
export function blockWeightList(w: BlockWeights): Float32Array[] {
  return [w.qkvWeight, w.qkvBias, w.projWeight, w.projBias, w.fc1Weight, w.fc1Bias, w.fc2Weight, w.fc2Bias];
}
