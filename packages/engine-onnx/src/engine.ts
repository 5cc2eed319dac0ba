/**
 * The dense engine: each op runs as an ONNX graph on ONNX Runtime (onnxruntime-node's CPU execution provider in Node,
 * onnxruntime-web in the browser), called directly and awaited: core's dense seam is asynchronous. Weights are
 * pinned: the first call with a given weight array builds a session whose graph holds it as an initializer (ONNX
 * Runtime copies it once and prepacks it for its GEMM/Conv kernels); later calls with the same array (core hands the
 * same Float32Array object every time) reuse that session and move only activations.
 */
import {
  convGraph,
  feedForwardGraph,
  geluTanhGraph,
  layerNormGraph,
  linearGraph,
  linearOnceGraph,
  siluGraph,
  type GraphModel,
} from './graphs.js';
import { canWriteFeatureNet, featureNetGraph, featureNetOutputShape, featureNetWeights } from './feature-net-graph.js';
import type { OrtSession, OrtSessions } from './sessions.js';
import type { Conv2dArgs, DenseEngineLike, FeatureNetLike } from './types.js';
import { blockWeightList, type BlockRunner, type TransformerBlockArgs } from './block-runner.js';
import type { BlockShape, BlockWeights } from './block-graph.js';
import type { Reclaim } from './reclaim.js';

/** The most bytes one linear call's output may take: d16's head at B=1 (512 rows × 4096 logits) is one call. */
export const LINEAR_CALL_BYTES = 8 * 2 ** 20;

interface Pinned {
  key: string;
  session: Promise<OrtSession>;
}

export class OnnxDenseEngine implements DenseEngineLike {
  readonly id = 'onnx';
  readonly name: string;
  /** Sessions per pinned weight array, told apart by the other things the graph bakes in (bias, attributes). */
  private readonly pinned = new WeakMap<Float32Array, Pinned[]>();
  /** Sessions keyed by a string only (graphs without a weight). */
  private readonly shared = new Map<string, Promise<OrtSession>>();
  private readonly biasIds = new WeakMap<Float32Array, number>();
  /** Weights whose JavaScript copy was freed (their values are only in ONNX Runtime's sessions). */
  private readonly released = new WeakSet<Float32Array>();
  private nextBiasId = 1;
  /** Releases the sessions of a weight array that was garbage-collected. */
  private readonly finalizer = new FinalizationRegistry<Pinned[]>((list) => {
    for (const p of list) this.releaseLater(p.session);
  });
  /**
   * The sessions of each feature net (core hands the same net object for a stretch every time), by input size when
   * the graphs are per size (winogradFromArea) and under 'any' otherwise; null = declined.
   */
  private readonly nets = new WeakMap<FeatureNetLike, Map<string, Promise<OrtSession | null>>>();
  private readonly netFinalizer = new FinalizationRegistry<Map<string, Promise<OrtSession | null>>>((m) => {
    for (const s of m.values()) this.releaseLater(s);
  });
  private sessionCount = 0;

  constructor(
    private readonly ort: OrtSessions,
    readonly threads: number,
    /** Free the JavaScript copy of each weight once ONNX Runtime holds it (see OnnxEngineOptions.releaseWeights). */
    readonly releaseWeights = true,
    /** The fused transformer blocks' sessions and KV caches (block-runner.ts); null: transformerBlock is declined. */
    private readonly blocks: BlockRunner | null = null,
    /**
     * Write each feature net per input size, its 3×3 convolutions on maps of this many pixels and more as Winograd
     * F(4×4, 3×3) (feature-net-graph.ts winogradTile; WINOGRAD_FROM_AREA = 64² in the engine's create()). null: one
     * graph for every size, ONNX Runtime's Conv throughout.
     */
    readonly winogradFromArea: number | null = null,
    /** Told of the large buffers the engine drops, to give them back at once (reclaim.ts; none in the browser). */
    private readonly reclaim: Reclaim | null = null,
  ) {
    this.name = `${ort.runtime} (${threads} thread${threads === 1 ? '' : 's'})`;
  }

  /** Bytes of weight arrays whose JavaScript copy was released after pinning. */
  releasedBytes = 0;

  /** Number of ONNX sessions created so far (pinned weights, shared graphs and fused blocks). */
  get sessions(): number {
    return this.sessionCount + this.fusedBlocks;
  }

  private biasKey(b: Float32Array | null): string {
    if (!b) return 'nobias';
    let id = this.biasIds.get(b);
    if (id === undefined) this.biasIds.set(b, (id = this.nextBiasId++));
    return `bias${id}`;
  }

  private async session(graph: () => GraphModel): Promise<OrtSession> {
    const g = graph();
    this.sessionCount++;
    try {
      return await this.ort.create(g.bytes, g.label, g.optimization, g.memArena, g.externalData);
    } finally {
      // the serialised graph and its external initializers (ONNX Runtime holds copies of them now)
      this.reclaim?.dropped(g.bytes.byteLength + (g.externalData ?? []).reduce((n, e) => n + e.data.byteLength, 0));
    }
  }

  /** Releases a session once it is made (nothing to release when making it failed or declined). */
  private releaseLater(session: Promise<OrtSession | null>): Promise<void> {
    return session.then(
      async (s) => {
        if (s) await this.ort.release(s);
      },
      () => {},
    );
  }

  private pinnedSession(
    weight: Float32Array,
    key: string,
    graph: () => GraphModel,
    alsoHeld: Float32Array[] = [],
  ): Promise<OrtSession> {
    let list = this.pinned.get(weight);
    const hit = list?.find((p) => p.key === key);
    if (hit) return hit.session;
    if (this.released.has(weight) || alsoHeld.some((w) => this.released.has(w))) {
      // its values live only inside ONNX Runtime's other session(s) now: a graph built from the emptied array would
      // compute with nothing, so say what happened instead
      throw new Error(
        `engine-onnx: ${key}: this weight's JavaScript copy was already handed to ONNX Runtime for another graph ` +
          '(releaseWeights); load the model again, or create the engine with releaseWeights: false (NEXTSCALE_ONNX_RELEASE_WEIGHTS=0)',
      );
    }
    if (!list) {
      list = [];
      this.pinned.set(weight, list);
      // the held value is the weight's list itself (later keys join it); it does not reference the weight
      this.finalizer.register(weight, list);
    }
    const entry: Pinned = { key, session: this.session(graph) };
    list.push(entry);
    const owner = list;
    entry.session = entry.session.then(
      (s) => {
        if (this.releaseWeights) for (const w of [weight, ...alsoHeld]) this.release(w);
        return s;
      },
      (e: unknown) => {
        owner.splice(owner.indexOf(entry), 1); // a failed graph is not cached: the next call says why again
        throw e;
      },
    );
    return entry.session;
  }

  /**
   * Detaches a pinned weight's ArrayBuffer (transferring it to a clone that is dropped at once), so the model's
   * JavaScript copy is freed and only ONNX Runtime's remains. The array object stays the engine's key (a detached
   * array keeps its identity; core's ops pass model weights as Tensor objects and do not re-check their length), but
   * anything else that reads it afterwards sees an empty array: a model whose weights this engine pinned runs on this
   * engine only (OnnxEngineOptions.releaseWeights). Only arrays that own their whole buffer are released (a view into
   * a shared buffer would take its neighbours with it); core's weight loader gives each tensor its own buffer.
   */
  private release(weight: Float32Array): void {
    const buf = weight.buffer;
    if (
      this.released.has(weight) ||
      buf instanceof SharedArrayBuffer ||
      weight.byteOffset !== 0 ||
      weight.byteLength !== buf.byteLength
    )
      return;
    this.releasedBytes += buf.byteLength;
    this.released.add(weight);
    structuredClone(buf, { transfer: [buf] });
    this.reclaim?.dropped(buf.byteLength);
  }

  private sharedSession(key: string, graph: () => GraphModel): Promise<OrtSession> {
    let s = this.shared.get(key);
    if (s === undefined) {
      this.shared.set(key, (s = this.session(graph)));
      s.catch(() => this.shared.delete(key));
    }
    return s;
  }

  // No gemmNT: ONNX Runtime's API is asynchronous and the contract's GEMM is synchronous, so core's synchronous ops
  // (matmul) run on core's TypeScript GEMM. Every dense call the model awaits (linear, the FFN, convs, layer norm,
  // GELU, SiLU, the VQ-VAE stretches) runs here.

  async linear(
    x: Float32Array,
    rows: number,
    inF: number,
    weight: Float32Array,
    outF: number,
    bias: Float32Array | null,
    y: Float32Array,
  ): Promise<void> {
    if (rows === 0 || outF === 0) return;
    if (inF === 0) {
      for (let r = 0; r < rows; r++) {
        if (bias) y.set(bias.subarray(0, outF), r * outF);
        else y.fill(0, r * outF, r * outF + outF);
      }
      return;
    }
    const key = `linear ${outF}x${inF} ${this.biasKey(bias)}`;
    const session = await this.pinnedSession(weight, key, () =>
      linearGraph(weight, outF, inF, bias, this.ort.weightForm),
    );
    // Rows in calls whose output stays ≤ LINEAR_CALL_BYTES (the head's logits at d16 B=8 are 64 MiB: above glibc's
    // 32 MiB mmap ceiling, ONNX Runtime's output and onnxruntime-node's copy of it map fresh pages every call; in
    // 512-row calls the head's last scale took ~0.56 s CPU against ~0.90 s, scripts/bench/onnx-linear-rows.mjs).
    // The MatMul is batch-invariant (ops.test.ts), so the split changes no value.
    const chunk = Math.max(1, Math.floor(LINEAR_CALL_BYTES / (4 * outF)));
    for (let r = 0; r < rows; r += chunk) {
      const n = Math.min(chunk, rows - r);
      await this.ort.run(
        session,
        [{ name: 'x', data: x, offset: r * inF, length: n * inF, dims: [n, inF] }],
        [n, outF],
        y,
        r * outF,
        key,
      );
    }
  }

  /** linear with a weight for this call only (the AdaLN weights read from their file): one session per shape, no pinning. */
  async linearOnce(
    x: Float32Array,
    rows: number,
    inF: number,
    weight: Float32Array,
    outF: number,
    bias: Float32Array | null,
    y: Float32Array,
  ): Promise<void> {
    if (rows === 0 || outF === 0) return;
    const key = `linearOnce ${outF}x${inF} ${bias ? 'bias' : 'no bias'}`;
    const session = await this.sharedSession(key, () => linearOnceGraph(outF, inF, bias !== null));
    await this.ort.run(
      session,
      [
        { name: 'x', data: x, length: rows * inF, dims: [rows, inF] },
        { name: 'W', data: weight, length: outF * inF, dims: [outF, inF] },
        ...(bias ? [{ name: 'b', data: bias, length: outF, dims: [outF] }] : []),
      ],
      [rows, outF],
      y,
      0,
      key,
    );
  }

  /** fc2(GELU(fc1(x))) as one session: the hidden activations stay inside ONNX Runtime (graphs.ts feedForwardGraph). */
  async feedForward(
    x: Float32Array,
    rows: number,
    inF: number,
    fc1: Float32Array,
    fc1Bias: Float32Array | null,
    hidden: number,
    fc2: Float32Array,
    fc2Bias: Float32Array | null,
    y: Float32Array,
  ): Promise<void> {
    if (rows === 0) return;
    const key = `feedForward ${inF}→${hidden} ${this.biasKey(fc1Bias)} ${this.biasKey(fc2Bias)}`;
    // pinned under fc1; fc2 (a weight of this session only) is released with it
    const session = await this.pinnedSession(
      fc1,
      key,
      () => feedForwardGraph(fc1, fc1Bias, hidden, inF, fc2, fc2Bias, this.ort.weightForm),
      [fc2],
    );
    await this.ort.run(
      session,
      [{ name: 'x', data: x, length: rows * inF, dims: [rows, inF] }],
      [rows, inF],
      y,
      0,
      key,
    );
  }

  async conv2d(a: Conv2dArgs): Promise<void> {
    const { batch, inChannels, height, width, outChannels, kernelH, kernelW, outH, outW } = a;
    if (batch === 0 || outChannels === 0 || outH === 0 || outW === 0) return;
    // ONNX's output size is ⌊(H + pads − kh)/s⌋ + 1; extra end padding covers a caller whose outH/outW needs more
    // rows than symmetric padding gives (none in VAR: its one asymmetric conv is the encoder's Downsample2x).
    const padBottomExtra = Math.max(0, (outH - 1) * a.strideH + kernelH - height - 2 * a.padH);
    const padRightExtra = Math.max(0, (outW - 1) * a.strideW + kernelW - width - 2 * a.padW);
    const shape = {
      outChannels,
      inChannels,
      kernelH,
      kernelW,
      strideH: a.strideH,
      strideW: a.strideW,
      padH: a.padH,
      padW: a.padW,
      padBottomExtra,
      padRightExtra,
    };
    const key = `conv ${outChannels}x${inChannels}x${kernelH}x${kernelW} s${a.strideH},${a.strideW} p${a.padH},${a.padW},${padBottomExtra},${padRightExtra} ${this.biasKey(a.bias)}`;
    const session = await this.pinnedSession(a.weight, key, () => convGraph(a.weight, a.bias, shape));
    // ONNX's Conv may produce more rows/cols than asked (it computes ⌊…⌋ + 1 with the end padding); the graph's
    // pads are chosen so that it produces exactly outH × outW when the caller's sizes follow the same formula.
    const hOnnx = Math.floor((height + 2 * a.padH + padBottomExtra - kernelH) / a.strideH) + 1;
    const wOnnx = Math.floor((width + 2 * a.padW + padRightExtra - kernelW) / a.strideW) + 1;
    if (hOnnx !== outH || wOnnx !== outW) {
      throw new RangeError(
        `engine-onnx conv2d: output ${outH}×${outW} does not follow from input ${height}×${width}, kernel ${kernelH}×${kernelW}, stride ${a.strideH}×${a.strideW}, padding ${a.padH}×${a.padW}`,
      );
    }
    // Image by image: ONNX Runtime's NCHW Conv rounds differently with the batch size (core's parity tests need an image
    // edited alone and in a batch to be bit-identical), and one image at a time keeps its buffers one image large.
    const xn = inChannels * height * width;
    const yn = outChannels * outH * outW;
    for (let b = 0; b < batch; b++) {
      await this.ort.run(
        session,
        [{ name: 'x', data: a.x, offset: b * xn, length: xn, dims: [1, inChannels, height, width] }],
        [1, outChannels, outH, outW],
        a.y,
        b * yn,
        key,
      );
    }
  }

  async layerNormRows(x: Float32Array, out: Float32Array, rows: number, cols: number, eps: number): Promise<void> {
    if (rows === 0 || cols === 0) return;
    const key = `layerNorm ${cols} ${eps}`;
    const session = await this.sharedSession(key, () => layerNormGraph(cols, eps));
    await this.ort.run(
      session,
      [{ name: 'x', data: x, length: rows * cols, dims: [rows, cols] }],
      [rows, cols],
      out,
      0,
      key,
    );
  }

  // No groupNorm: measured at the decoder's shapes (160 × 256², B = 1), core's own loop took ~80 ms against ~140 ms for
  // ONNX Runtime's Reshape + InstanceNormalization + affine graph (single-threaded, a fresh output per node).

  // GELU and SiLU always run in ONNX Runtime, short vectors too: one code path, so an element's value does not depend
  // on how many others share its call (batch invariance).

  /** GELU (tanh approximation) elementwise. */
  async geluTanh(x: Float32Array, out: Float32Array, n: number): Promise<void> {
    if (n === 0) return;
    await this.ort.run(
      await this.sharedSession('geluTanh', geluTanhGraph),
      [{ name: 'x', data: x, length: n, dims: [n] }],
      [n],
      out,
      0,
      'geluTanh',
    );
  }

  /** SiLU elementwise. */
  async silu(x: Float32Array, out: Float32Array, n: number): Promise<void> {
    if (n === 0) return;
    await this.ort.run(
      await this.sharedSession('silu', siluGraph),
      [{ name: 'x', data: x, length: n, dims: [n] }],
      [n],
      out,
      0,
      'silu',
    );
  }

  /**
   * A whole VQ-VAE stretch as one session (feature-net-graph.ts), image by image like conv2d (batch invariance); with
   * `winogradFromArea`, one session per input size.
   * Declines (false) a net whose weights were already handed to one-op sessions (their values live only there) or
   * that holds an op this package cannot write; core then runs that stretch op by op, still on this engine.
   */
  async featureNet(
    net: FeatureNetLike,
    x: Float32Array,
    shape: readonly [number, number, number, number],
    y: Float32Array,
  ): Promise<boolean> {
    const [B, C, H, W] = shape;
    let sessions = this.nets.get(net);
    if (sessions === undefined) {
      this.nets.set(net, (sessions = new Map()));
      this.netFinalizer.register(net, sessions);
    }
    const perSize = this.winogradFromArea !== null;
    const key = perSize ? `${H}x${W}` : 'any';
    let pending = sessions.get(key);
    if (pending === undefined) {
      const weights = featureNetWeights(net);
      if (!canWriteFeatureNet(net)) pending = Promise.resolve(null);
      else if (weights.some((w) => this.released.has(w))) {
        // released by one-op sessions (core then runs the stretch op by op on those), or by this net's graph for
        // another input size: its values live only in that session now, so a graph for this size cannot be written
        if (sessions.size === 0) pending = Promise.resolve(null);
        else
          throw new Error(
            `engine-onnx: feature net ${net.label}: its graph was written for ${[...sessions.keys()].join(', ')} and ` +
              `its weights handed to ONNX Runtime (releaseWeights), so it cannot run at ${H}×${W}; load the model ` +
              'again, or create the engine with releaseWeights: false (NEXTSCALE_ONNX_RELEASE_WEIGHTS=0)',
          );
      } else {
        const size = perSize ? { height: H, width: W, winogradFromArea: this.winogradFromArea! } : undefined;
        pending = this.session(() => featureNetGraph(net, size, this.ort.weightForm === 'as-is')).then((s) => {
          if (this.releaseWeights) for (const w of weights) this.release(w);
          // the net's JavaScript weights and its graph's Winograd-transformed copies (d16's decoder: ~0.3 GB) are
          // garbage now, and its first run allocates its largest maps right after: free them first, so that the run
          // reuses their memory (the cold d16 CLI's peak: 2.35 → 2.18 GiB, NOTES.md "Session 9: rss2")
          this.reclaim?.collectNow();
          return s;
        });
      }
      sessions.set(key, pending);
      const owner = sessions;
      pending.catch(() => owner.delete(key));
    }
    const session = await pending;
    if (session === null) return false;
    const [Co, Ho, Wo] = featureNetOutputShape(net, H, W);
    const xn = C * H * W;
    const yn = Co * Ho * Wo;
    for (let b = 0; b < B; b++) {
      await this.ort.run(
        session,
        [{ name: 'x', data: x, offset: b * xn, length: xn, dims: [1, C, H, W] }],
        [1, Co, Ho, Wo],
        y,
        b * yn,
        net.label,
      );
    }
    return true;
  }

  /** Number of fused transformer-block sessions built so far. */
  get fusedBlocks(): number {
    return this.blocks?.count ?? 0;
  }

  /**
   * A whole VAR transformer block as one session (block-graph.ts; its KV cache is the session's extra outputs). Declines
   * when the engine has no block runner, and a block whose weights were already handed to one-op sessions (their
   * values live only there).
   */
  acceptsTransformerBlock(weights: BlockWeights, _shape: BlockShape): boolean {
    if (!this.blocks) return false;
    return this.blocks.has(weights) || !blockWeightList(weights).some((w) => this.released.has(w));
  }

  async transformerBlock(a: TransformerBlockArgs): Promise<Float32Array> {
    if (!this.blocks)
      throw new Error(
        'engine-onnx: transformerBlock: this engine runs no fused blocks (acceptsTransformerBlock said so)',
      );
    if (!this.blocks.has(a.weights)) {
      await this.blocks.prepare(a.weights, a.shape);
      if (this.releaseWeights) for (const w of blockWeightList(a.weights)) this.release(w);
    }
    return this.blocks.run(a);
  }

  releaseTransformerBlockCache(cache: object): void {
    this.blocks?.release(cache);
  }

  /**
   * The model will not run with these weights again (core's DenseEngine.forget): releases the sessions pinned under
   * them and the fused blocks built on them now, so that ONNX Runtime frees its copies before whatever runs next
   * (core: the decode after a generation with releaseTransformer), rather than when the arrays are collected.
   */
  async forget(weights: readonly Float32Array[]): Promise<void> {
    const released: Promise<void>[] = [];
    for (const w of weights) {
      for (const p of this.pinned.get(w) ?? []) released.push(this.releaseLater(p.session));
      this.pinned.delete(w);
    }
    await Promise.all([...released, this.blocks?.forget(weights)]);
  }

  /** Fused transformer-block sessions built and not released yet. */
  get liveFusedBlocks(): number {
    return this.blocks?.liveCount ?? 0;
  }

  /** ONNX Runtime sessions made and not released yet (pinned weights, shared graphs, feature nets, fused blocks). */
  get liveSessions(): number {
    return this.ort.liveCount + (this.blocks?.liveCount ?? 0);
  }

  async dispose(): Promise<void> {
    await this.ort.dispose();
  }
}
