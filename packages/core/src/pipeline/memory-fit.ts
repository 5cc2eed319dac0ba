/**
 * Whether a model and a generation fit this machine's memory, decided from the checkpoints' indexes (shapes only)
 * before a byte of tensor data is read, so that a model too big is refused in a second with the numbers instead of
 * growing until the kernel kills the process (#25: a d36 at 512 px holds 9.9 GB of weights plus a 3 GB KV cache).
 *
 * need = weights (float32, as the engines hold them) + KV cache (K and V of every block, every CFG row, all L tokens)
 *        + working set: the runtime, the largest stage's live buffers (the last scale's transformer activations, or the
 *        decoder's widest map with its im2col), and for the onnx engine one block's weights twice more while its
 *        session is built (the JavaScript copy and ONNX Runtime's, before the JavaScript one is dropped).
 * Calibrated on measured peaks (NOTES.md, "Session 7: memory"): it overestimates them by a few per cent.
 */
import { freemem } from 'node:os';
import { NextscaleError } from '../errors.js';

const F32 = 4;

/** The figures of a model the estimate needs (VARConfig's and the VQ-VAE's). */
export interface ModelShape {
  depth: number;
  embedDim: number;
  numHeads: number;
  vocabSize: number;
  mlpHidden: number;
  patchNums: readonly number[];
  /** VQ-VAE: base channels and the channel multiplier of each level (the image side is the last scale × 2^(levels−1)). */
  vaeCh: number;
  vaeChMult: readonly number[];
}

export interface GenerationRequest {
  images: number;
  /** Classifier-free guidance doubles the transformer's rows (default true: every VAR generation uses it). */
  cfg?: boolean;
  /**
   * What the caller holds after the decode to write the images out (e.g. the CLI's zoomed grid and its PNG encoding),
   * from the image side and the number of images: bytes at its peak and its largest single buffer.
   */
  output?: (imageSize: number, images: number) => { bytes: number; largestBuffer: number };
}

/** Bytes each stage of a generation holds besides the weights. */
export interface GenerationMemory {
  /** The KV cache: K and V of every block for every transformer row over all L tokens. */
  kvCache: number;
  /** The last scale's activations: qkv, MLP, attention scores when materialised, logits and the sampler's copies. */
  transformer: number;
  /** The decoder's widest level: a block's input and output maps, a 3×3 convolution's im2col, the images. */
  decode: number;
  /** The decoded images (float32), alive from the decode to the end. */
  images: number;
  /** The caller's output stage (GenerationRequest.output; 0 without one), besides the images. */
  output: number;
  /** The largest single buffer: the decoder's im2col, the logits, or one block's K or V. */
  largestBuffer: number;
  imageSize: number;
}

export function imageSizeOf(m: Pick<ModelShape, 'patchNums' | 'vaeChMult'>): number {
  return Math.max(...m.patchNums) * 2 ** (m.vaeChMult.length - 1);
}

/** What a generation of `r.images` images holds at each stage (upper estimates of the live buffers). */
export function estimateGeneration(m: ModelShape, r: GenerationRequest): GenerationMemory {
  const n = r.images;
  const rows = r.cfg === false ? n : 2 * n;
  const L = m.patchNums.reduce((s, p) => s + p * p, 0);
  const T = Math.max(...m.patchNums) ** 2;
  const C = m.embedDim;
  const kvPerBlock = rows * L * C * F32;
  const kvCache = m.depth * 2 * kvPerBlock;
  const scores = rows * m.numHeads * T * L * F32;
  const logits = rows * T * m.vocabSize * F32;
  const act = rows * T * (3 * C + m.mlpHidden + 4 * C) * F32;
  const imageSize = imageSizeOf(m);
  const levels = m.vaeChMult.length;
  // the decoder's level i works at side / 2^i with ch · chMult[i] channels (level 0 at full resolution)
  let widest = 0;
  for (let i = 0; i < levels; i++) {
    const side = imageSize / 2 ** i;
    widest = Math.max(widest, m.vaeCh * m.vaeChMult[i] * side * side);
  }
  const featureMap = n * widest * F32;
  const im2col = 9 * featureMap;
  const images = n * 3 * imageSize * imageSize * F32;
  const output = r.output?.(imageSize, n) ?? { bytes: 0, largestBuffer: 0 };
  return {
    kvCache,
    transformer: scores + 3 * logits + act,
    decode: 2 * featureMap + im2col + images,
    images,
    output: output.bytes,
    largestBuffer: Math.max(im2col, logits, kvPerBlock, output.largestBuffer),
    imageSize,
  };
}

/** The process itself: Node, the engines' native libraries and JIT code, the model's small tensors. */
export const RUNTIME_BYTES = 300e6;

export interface MemoryNeed {
  weights: number;
  kvCache: number;
  workingSet: number;
  total: number;
  /** The largest single buffer (checked against FitCheck.maxBuffer). */
  largestBuffer: number;
}

/**
 * What loading `m` (whose tensors take `weightBytes` as float32; `largestBlockBytes`: one transformer block's) and
 * generating `r` needs on `engine` ('onnx', 'wasm', 'js', or undefined when not chosen yet: counted as onnx, the
 * larger).
 */
export function estimateMemoryNeed(
  m: ModelShape,
  weights: { bytes: number; largestBlockBytes: number },
  r: GenerationRequest,
  engine?: string,
): MemoryNeed {
  const g = estimateGeneration(m, r);
  const handover = engine === undefined || engine === 'onnx' ? 2 * weights.largestBlockBytes : 0;
  const workingSet = RUNTIME_BYTES + Math.max(g.transformer, g.decode + g.images, g.output + g.images) + handover;
  return {
    weights: weights.bytes,
    kvCache: g.kvCache,
    workingSet,
    total: weights.bytes + g.kvCache + workingSet,
    largestBuffer: g.largestBuffer,
  };
}

/** Float32 bytes of a state dict index, and of its largest transformer block (`blocks.<i>.…`). */
export function weightBytesOf(tensors: Iterable<{ name: string; shape: readonly number[] }>): {
  bytes: number;
  largestBlockBytes: number;
} {
  let bytes = 0;
  const blocks = new Map<string, number>();
  for (const t of tensors) {
    const b = F32 * t.shape.reduce((a, d) => a * d, 1);
    bytes += b;
    const block = /^blocks\.(\d+)\./.exec(t.name)?.[1];
    if (block !== undefined) blocks.set(block, (blocks.get(block) ?? 0) + b);
  }
  return { bytes, largestBlockBytes: Math.max(0, ...blocks.values()) };
}

export interface AvailableMemory {
  bytes: number;
  /** Where the figure came from, for the refusal's line. */
  source: string;
}

/** Parses '8GB', '512 MiB', '2e9' (bytes) into bytes; NaN when it is none of these. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text);
  if (!m) return Number.NaN;
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '');
  const scale: Record<string, number> = {
    '': 1,
    k: 1e3,
    m: 1e6,
    g: 1e9,
    t: 1e12,
    ki: 2 ** 10,
    mi: 2 ** 20,
    gi: 2 ** 30,
    ti: 2 ** 40,
  };
  return unit in scale ? Number(m[1]) * scale[unit] : Number.NaN;
}

/**
 * The memory a model may use here: NEXTSCALE_MEMORY_LIMIT when set (bytes, or '8GB'; for containers whose limit the
 * process cannot see, and for tests), else what the machine has available now (MemAvailable: free plus reclaimable
 * cache), capped by the cgroup's limit when there is one. Infinity on a page (no node:os there).
 */
export function availableMemory(env: Record<string, string | undefined> = nodeEnv()): AvailableMemory {
  const set = env['NEXTSCALE_MEMORY_LIMIT'];
  if (set !== undefined && set !== '') {
    const bytes = parseByteSize(set);
    if (!(bytes > 0))
      throw new NextscaleError(
        'E_USAGE',
        `NEXTSCALE_MEMORY_LIMIT=${JSON.stringify(set)} is not a size; give bytes or a size such as 8GB`,
      );
    return { bytes, source: 'NEXTSCALE_MEMORY_LIMIT' };
  }
  if (typeof process === 'undefined' || !process.versions?.node) return { bytes: Infinity, source: 'no limit known' };
  const free = freemem();
  const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (limit && limit > 0 && limit < free) {
    const used = process.memoryUsage().rss;
    return { bytes: Math.max(0, limit - used), source: `the cgroup limit ${gb(limit)} less ${gb(used)} in use` };
  }
  return { bytes: free, source: 'available memory' };
}

function nodeEnv(): Record<string, string | undefined> {
  return typeof process !== 'undefined' && process.env ? process.env : {};
}

/** The model does not fit the memory available: refused before loading, with the numbers. */
export class MemoryError extends NextscaleError {
  override name = 'MemoryError';
  constructor(
    message: string,
    readonly need: MemoryNeed,
    readonly available: AvailableMemory,
    /** The most images at once that would fit (0: not even one), for a caller that words its own fix. */
    readonly maxImages: number,
  ) {
    super('E_MEMORY', message);
  }
}

export function gb(bytes: number): string {
  if (bytes >= 1e12) return `${(bytes / 1e12).toPrecision(3)} TB`;
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return bytes >= 1e6 ? `${Math.round(bytes / 1e6)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

export interface FitCheck {
  model: ModelShape;
  /** The weights still to load; zeros for a model already loaded (what is available then no longer counts them). */
  weights: { bytes: number; largestBlockBytes: number };
  request: GenerationRequest;
  engine?: string;
  available?: AvailableMemory;
  /** The largest single buffer the runtime allows (Node's Buffer limit, for a caller that writes one). */
  maxBuffer?: number;
}

function fits(c: FitCheck, available: AvailableMemory, images: number, engine = c.engine): boolean {
  const need = estimateMemoryNeed(c.model, c.weights, { ...c.request, images }, engine);
  return need.total <= available.bytes && need.largestBuffer <= (c.maxBuffer ?? Infinity);
}

/** The most images at once that fit (0 when not even one does), by bisection on the estimate. */
export function maxImagesThatFit(c: FitCheck, available: AvailableMemory = c.available ?? availableMemory()): number {
  let lo = 0;
  let hi = 1;
  while (hi < 2 ** 40 && fits(c, available, hi)) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(c, available, mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Throws a MemoryError naming the numbers and the fix when the model and the request do not fit; else returns the
 * need (for a log line).
 */
export function checkMemoryFit(c: FitCheck): MemoryNeed {
  const available = c.available ?? availableMemory();
  const need = estimateMemoryNeed(c.model, c.weights, c.request, c.engine);
  const overBuffer = need.largestBuffer > (c.maxBuffer ?? Infinity);
  if (need.total <= available.bytes && !overBuffer) return need;
  const n = c.request.images;
  const what = `VAR-d${c.model.depth} at ${imageSizeOf(c.model)} px, ${n.toLocaleString('en-US')} image${n === 1 ? '' : 's'} at once${c.engine ? `, on the ${c.engine} engine` : ''}`;
  const most = n > 1 ? maxImagesThatFit(c, available) : fits(c, available, 1) ? 1 : 0;
  const fixes: string[] = [];
  if (most >= 1) fixes.push(`generate at most ${most.toLocaleString('en-US')} image${most === 1 ? '' : 's'} at once`);
  if (c.engine !== 'wasm' && !overBuffer) {
    const wasm = estimateMemoryNeed(c.model, c.weights, c.request, 'wasm');
    if (wasm.total <= available.bytes)
      fixes.push(`use the wasm engine (it holds the weights once: ${gb(wasm.total)}; slower)`);
  }
  fixes.push('use a smaller model or a machine with more memory');
  const problem = overBuffer
    ? `: one of its buffers would need ${gb(need.largestBuffer)}, over the ${gb(c.maxBuffer!)} limit for a single buffer`
    : ` needs about ${gb(need.total)} of memory (${need.weights > 0 ? `weights ${gb(need.weights)} + ` : ''}KV cache ${gb(need.kvCache)} + working set ${gb(need.workingSet)}${need.weights > 0 ? '' : '; the weights are loaded already'}), ` +
      `but ${gb(available.bytes)} is available (${available.source})`;
  throw new MemoryError(`${what}${problem} — ${fixes.join(', or ')}`, need, available, most);
}
