/**
 * The fused transformer blocks (block-graph.ts): one ONNX Runtime session per block, built on first use from that
 * block's weights, and each block's KV cache held here between scales (block-cache.ts: the graph takes the prefix's
 * keys/values as inputs and returns only the step's own). Large scales run in calls of a few rows each (block-rows.ts).
 *
 * The sessions are onnxruntime-node's, made with the engine's session settings (session-options.ts); they are run
 * here rather than through OrtSessions.run because a block call returns three outputs (y and the step's keys/values).
 */
import type * as Ort from 'onnxruntime-node';
import { transformerBlockGraph, type BlockShape, type BlockWeights } from './block-graph.js';
import type { Reclaim } from './reclaim.js';
import { sessionOptions, type SessionSettings } from './session-options.js';
import { BlockCache } from './block-cache.js';
import { CALL_BYTES, rowChunks, rowsPerCall } from './block-rows.js';

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
  /**
   * Next-scale inference: the tokens later steps read back (every scale's but the last; reserved at once when given).
   * The step that starts there is the generation's last: its keys and values are not kept.
   */
  maxTokens?: number;
}

type OrtModule = typeof Ort;

export class BlockRunner {
  /** Sessions by the block's qkv weight (core hands the same array every time). */
  private readonly sessions = new WeakMap<Float32Array, Promise<Ort.InferenceSession>>();
  private readonly caches = new WeakMap<object, BlockCache>();
  count = 0;
  private live = 0;

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
      this.live++;
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
    if (!a.cache) return this.teacherForced(a);
    const { width: C } = a.shape;
    let kv = this.caches.get(a.cache);
    if (!kv) {
      kv = new BlockCache(a.batch, C, a.maxTokens ?? a.tokens);
      this.caches.set(a.cache, kv);
    }
    if (kv.closed)
      throw new RangeError('transformerBlock: a step after the one that passed maxTokens (the last scale)');
    const last = a.maxTokens !== undefined && kv.tokens + a.tokens > a.maxTokens;
    if (last && kv.tokens !== a.maxTokens)
      throw new RangeError(
        `transformerBlock: a step of ${a.tokens} tokens after ${kv.tokens} cached crosses maxTokens ${a.maxTokens} (only the last scale may pass it)`,
      );
    if (!last) kv.reserve(kv.tokens + a.tokens);
    return this.step(a, kv, a.x, !last);
  }

  /**
   * One next-scale step of the block over `x` (batch, tokens, C): its keys/values appended to `kv` (unless `keep` is
   * false: the last scale's, which nothing reads). Large scales run in calls of a few rows each (block-rows.ts).
   */
  private async step(a: TransformerBlockArgs, kv: BlockCache, x: Float32Array, keep = true): Promise<Float32Array> {
    const { ort } = this;
    const session = await this.session(a.weights, a.shape);
    const C = a.shape.width;
    const N = a.batch;
    const T = a.tokens;
    const P = kv.tokens;
    const calls = rowChunks(N, rowsPerCall(N, T, P, a.shape, this.callBytes));
    const tensor = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
    const ys: Float32Array[] = [];
    for (const [r0, r1] of calls) {
      const n = r1 - r0;
      const out = await session.run({
        x: tensor(x.subarray(r0 * T * C, r1 * T * C), [n, T, C]),
        m: tensor(a.modulation.subarray(r0 * 6 * C, r1 * 6 * C), [n, 6 * C]),
        past_key: tensor(kv.past('key', r0, r1), [n, P, C]),
        past_value: tensor(kv.past('value', r0, r1), [n, P, C]),
      });
      if (keep) kv.write(r0, r1, T, out.key!.data as Float32Array, out.value!.data as Float32Array);
      ys.push(out.y!.data as Float32Array);
    }
    if (keep) kv.tokens += T;
    else kv.closed = true;
    if (ys.length === 1) return ys[0]!;
    const y = new Float32Array(N * T * C);
    for (const [i, part] of ys.entries()) y.set(part, calls[i]![0] * T * C);
    return y;
  }

  /**
   * Teacher forcing: attention within x under the block-causal mask of `scaleEnds`, computed as next-scale inference
   * is, scale by scale over a cache of the earlier scales (a query sees every token up to its scale's end: exactly
   * what the mask lets through), so the one graph serves both.
   */
  private async teacherForced(a: TransformerBlockArgs): Promise<Float32Array> {
    const { batch: N, tokens: T, scaleEnds } = a;
    if (!scaleEnds || scaleEnds.at(-1) !== T) {
      throw new RangeError(`transformerBlock: teacher forcing needs scaleEnds ending at the token count ${T}`);
    }
    const C = a.shape.width;
    const kv = new BlockCache(N, C, T);
    const y = new Float32Array(N * T * C);
    let start = 0;
    for (const end of scaleEnds) {
      const t = end - start;
      const xs = new Float32Array(N * t * C);
      for (let r = 0; r < N; r++) xs.set(a.x.subarray((r * T + start) * C, (r * T + end) * C), r * t * C);
      const ys = await this.step({ ...a, tokens: t }, kv, xs);
      for (let r = 0; r < N; r++) y.set(ys.subarray(r * t * C, (r + 1) * t * C), (r * T + start) * C);
      start = end;
    }
    return y;
  }

  /** Releases the sessions of the blocks whose qkv weight is among `weights` (their model will not run them again). */
  async forget(weights: readonly Float32Array[]): Promise<void> {
    const gone: Promise<Ort.InferenceSession>[] = [];
    for (const w of weights) {
      const p = this.sessions.get(w);
      if (p) gone.push(p);
      this.sessions.delete(w);
    }
    this.live -= gone.length;
    await Promise.all(
      gone.map((p) =>
        p.then(
          (s) => s.release(),
          () => {},
        ),
      ),
    );
  }

  /** Sessions built and not released. */
  get liveCount(): number {
    return this.live;
  }

  /** Drops the KV cache held under `cache` (the end of a generation). */
  release(cache: object): void {
    // only the size is kept here: a BlockCache still referenced from this frame would survive the collection that
    // dropped() may run, and d36's caches (2.9 GB in all) then waited for V8 until the decode had allocated its own
    const bytes = this.caches.get(cache)?.bytes ?? 0;
    this.caches.delete(cache);
    if (bytes) this.reclaim?.dropped(bytes);
  }
}

/** The block's weight arrays (those its session holds as initializers). */
export function blockWeightList(w: BlockWeights): Float32Array[] {
  return [w.qkvWeight, w.qkvBias, w.projWeight, w.projBias, w.fc1Weight, w.fc1Bias, w.fc2Weight, w.fc2Bias];
}
