/**
 * The engine's ONNX Runtime sessions, on the calling thread: create, run and release over onnxruntime-node's or
 * onnxruntime-web's InferenceSession (the same API), awaited directly. Every failure is one line naming the op.
 */
import type { WeightForm } from './graphs.js';
import type { ExternalData } from './onnx-proto.js';
import { sessionOptions, type SessionSettings } from './session-options.js';

/** The part of onnxruntime-node's / onnxruntime-web's (onnxruntime-common's) API the engine uses. */
export interface OrtLike {
  InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

export interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dispose?: () => void } | undefined>>;
  release(): Promise<void>;
}

export interface RunInput {
  name: string;
  data: Float32Array;
  /** Where the values start in `data` and how many there are (default: all of it). */
  offset?: number;
  length?: number;
  dims: readonly number[];
}

export class OrtSessions {
  private closed = false;
  private readonly live = new Set<OrtSession>();

  constructor(
    private readonly ort: OrtLike,
    private readonly settings: SessionSettings,
    /** Which runtime and execution provider runs the sessions, e.g. 'onnxruntime-node 1.30.0 cpu'. */
    readonly runtime: string,
  ) {}

  /**
   * How the linear graphs should hold their weights here (graphs.ts WeightForm): as they are, beside the protobuf, on
   * onnxruntime-node's CPU provider; transposed inside it on the web.
   */
  get weightForm(): WeightForm {
    return this.settings.cpu ? 'as-is' : 'transposed';
  }

  /**
   * A session of a serialised model and its external data (ONNX Runtime copies what it needs; the bytes and the
   * arrays can be dropped afterwards).
   */
  async create(
    bytes: Uint8Array,
    label: string,
    optimization = 'all',
    memArena?: boolean,
    externalData?: readonly ExternalData[],
  ): Promise<OrtSession> {
    this.checkOpen();
    let session: OrtSession;
    try {
      session = await this.ort.InferenceSession.create(
        bytes,
        sessionOptions(this.settings, {
          optimization,
          ...(memArena === undefined ? {} : { memArena }),
          ...(externalData ? { externalData } : {}),
        }),
      );
    } catch (e) {
      throw failure(`creating the ONNX session for ${label}`, e);
    }
    if (this.closed) {
      await session.release();
      this.checkOpen();
    }
    this.live.add(session);
    return session;
  }

  /** Runs `session` on the inputs and writes its output `y` (outDims' product of floats) into out[outOffset…]. */
  async run(
    session: OrtSession,
    inputs: readonly RunInput[],
    outDims: readonly number[],
    out: Float32Array,
    outOffset: number,
    label: string,
  ): Promise<void> {
    this.checkOpen();
    const feeds: Record<string, unknown> = {};
    for (const i of inputs) {
      const off = i.offset ?? 0;
      feeds[i.name] = new this.ort.Tensor(
        'float32',
        i.data.subarray(off, off + (i.length ?? i.data.length - off)),
        i.dims,
      );
    }
    let y;
    try {
      y = (await session.run(feeds)).y;
    } catch (e) {
      throw failure(label, e);
    }
    if (!y) throw new Error(`engine-onnx: ${label}: the graph has no output y`);
    const values = y.data as Float32Array;
    const n = outDims.reduce((a, b) => a * b, 1);
    if (values.length !== n)
      throw new Error(`engine-onnx: ${label}: ONNX Runtime returned ${values.length} values, expected ${n}`);
    out.set(values, outOffset);
    y.dispose?.();
  }

  /** Releases a session nobody will run again (its weights' memory with it). A failure leaves only memory behind. */
  release(session: OrtSession): Promise<void> {
    if (!this.live.delete(session)) return Promise.resolve();
    return session.release().catch(() => {});
  }

  /** Sessions made and not released. */
  get liveCount(): number {
    return this.live.size;
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map((s) => s.release()));
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('engine-onnx: the engine was disposed');
  }
}

/** ONNX Runtime's message as one line (its messages can span lines: a stack of where it failed). */
function failure(what: string, e: unknown): Error {
  const msg = String((e as Error)?.message ?? e)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return new Error(`engine-onnx: ONNX Runtime failed ${what}: ${msg}`);
}
